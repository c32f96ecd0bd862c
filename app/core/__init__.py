"""Cross-cutting plumbing: database, templates, htmx, errors, embedded services."""
