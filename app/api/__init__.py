"""The public REST API under /api/v1: scoped bearer tokens, JSON resources, problem details."""
