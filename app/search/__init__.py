"""Global search (Ctrl/⌘-K and /search) and the server-searched record pickers of forms."""
