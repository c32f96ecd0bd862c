"""Background jobs: the arq worker settings that collect every domain's jobs."""
