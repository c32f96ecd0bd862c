"""The process's Redis/Valkey client (also its arq queue), made on startup inside the running loop.

Made for outages: connecting never waits for the server (a process starts, and answers 503,
while Valkey is down), a command fails within seconds instead of hanging, and a connection
broken by a Valkey restart is replaced and the command retried once, transparently.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import TypedDict

from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class _Clients(TypedDict, total=False):
    """The shared clients, once connected (or adopted from the arq worker)."""

    redis: Redis
    arq: ArqRedis


class ClientOptions(TypedDict):
    """Connection options shared by every client of ours (web, worker, pub/sub)."""

    socket_connect_timeout: float
    socket_timeout: float
    socket_keepalive: bool
    health_check_interval: int
    retry: Retry
    retry_on_error: list[type[Exception]]


_state: _Clients = {}

CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 5.0


def client_options() -> ClientOptions:
    """Connection options shared by every client of ours (web, worker, pub/sub)."""
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": COMMAND_TIMEOUT,
        "socket_keepalive": True,
        "health_check_interval": 15,  # a silently dropped connection is noticed and replaced
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


def redis_settings(url: str) -> RedisSettings:
    """arq settings from a redis:// URL (the worker's own pool: same timeouts and retries)."""
    return dataclasses.replace(
        RedisSettings.from_dsn(url),
        conn_timeout=int(CONNECT_TIMEOUT),
        conn_retries=2,
        retry_on_timeout=True,
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
    )


def make_client(url: str) -> ArqRedis:
    """A client that is both a plain Redis client and an arq queue; it connects lazily."""
    pool = ConnectionPool.from_url(url, **client_options())
    return ArqRedis(pool_or_conn=pool)


async def connect(url: str) -> None:
    """Open the shared client (call from the app's or worker's startup); it never blocks."""
    client = make_client(url)
    _state["redis"] = client
    _state["arq"] = client


async def disconnect() -> None:
    client = _state.pop("redis", None)
    _state.pop("arq", None)
    if client is not None:  # bounded: a server that stopped answering must not hold the exit
        with contextlib.suppress(TimeoutError, RedisConnectionError, RedisTimeoutError):
            await asyncio.wait_for(client.aclose(close_connection_pool=True), 5)


def redis() -> Redis:
    return _state["redis"]


def queue() -> ArqRedis:
    return _state["arq"]


def use(client: Redis, pool: ArqRedis) -> None:
    """Adopt clients made elsewhere (the arq worker's own pool)."""
    _state["redis"] = client
    _state["arq"] = pool
