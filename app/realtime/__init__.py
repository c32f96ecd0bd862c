"""Real time: Redis pub/sub channels, the one websocket route, presence on boards."""
