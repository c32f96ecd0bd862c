"""Webhooks: signed outbound HTTP calls that tell a workspace's own systems of its events."""
