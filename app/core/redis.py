"""The process's Redis/Valkey client and arq pool, made on startup inside the running loop."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio import Redis

_state: dict[str, Any] = {}


def redis_settings(url: str) -> RedisSettings:
    """arq settings from a redis:// URL."""
    parsed = urlparse(url)
    return RedisSettings(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 6379,
        database=int((parsed.path or "/0").lstrip("/") or 0),
        password=parsed.password,
        ssl=parsed.scheme == "rediss",
    )


async def connect(url: str) -> None:
    """Open the shared client and arq pool (call from the app's or worker's startup)."""
    _state["redis"] = Redis.from_url(url, decode_responses=False)
    _state["arq"] = await create_pool(redis_settings(url))


async def disconnect() -> None:
    for key in ("redis", "arq"):
        client = _state.pop(key, None)
        if client is not None:
            await client.aclose()


def redis() -> Redis:
    return _state["redis"]


def queue() -> ArqRedis:
    return _state["arq"]


def use(client: Redis, pool: ArqRedis) -> None:
    """Adopt clients made elsewhere (the arq worker's own pool)."""
    _state["redis"] = client
    _state["arq"] = pool
