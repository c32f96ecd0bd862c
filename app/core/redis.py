"""The process's Redis/Valkey client (also its arq queue), made on startup inside the running loop.

Made for outages: connecting never waits for the server (a process starts, and answers 503,
while Valkey is down), a command fails within seconds instead of hanging, and a connection
broken by a Valkey restart is replaced and the command retried once, transparently.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from typing import Any, TypedDict

from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
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
    _forget_quick()
    _state["redis"] = client
    _state["arq"] = client


async def disconnect() -> None:
    client = _state.pop("redis", None)
    _state.pop("arq", None)
    _forget_quick()
    if client is not None:  # bounded: a server that stopped answering must not hold the exit
        with contextlib.suppress(TimeoutError, RedisConnectionError, RedisTimeoutError):
            await asyncio.wait_for(client.aclose(close_connection_pool=True), 5)


def redis() -> Redis:
    return _state["redis"]


def queue() -> ArqRedis:
    return _state["arq"]


def use(client: Redis, pool: ArqRedis) -> None:
    """Adopt clients made elsewhere (the arq worker's own pool)."""
    _forget_quick()
    _state["redis"] = client
    _state["arq"] = pool


# The connections of `quick_command` (idle ones; each used by one command at a time), made
# like the shared client's own but without its per-command socket timeout (one deadline for
# the whole command instead).
_quick: list[AbstractConnection] = []
QUICK_KEPT = 16  # idle connections kept at most (more are closed when given back)
QUICK_PAUSE = 1.0  # seconds the quick way is not tried after one of its commands failed
_quick_paused_until = 0.0


def _forget_quick() -> None:
    """Drop the quick connections (a new client: they would talk to the old server)."""
    global _quick_paused_until
    dropped, _quick[:] = list(_quick), []
    _quick_paused_until = 0.0
    for conn in dropped:
        _close_later(conn)


_closing: set[asyncio.Task[None]] = set()


def _close_later(conn: AbstractConnection) -> None:
    """Close `conn` without waiting (nothing when no loop runs: it is dropped with its loop)."""
    try:
        task = asyncio.get_running_loop().create_task(conn.disconnect(nowait=True))
    except RuntimeError:
        return
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def quick_command(*args: Any) -> Any:
    """One command, as `redis().execute_command(*args)` gives it, for the one every request
    sends (the session's load): on a connection of our own, ~40 µs of CPU instead of ~90.
    The shared client's pool reads every connection before use (a read with a zero timeout:
    an extra turn of the loop, an exception) and sends through `wait_for` (a task per
    command); here one deadline (COMMAND_TIMEOUT) covers the send and the reply.

    A connection serves one command at a time and is closed on any failure (never used again
    with a reply left unread). A command that fails here (Valkey restarted, down, slow) is
    sent again through the shared client, with its retries and timeouts, so an outage is
    answered as before; after a failure the quick way rests QUICK_PAUSE seconds. An error
    reply (NOSCRIPT) is raised as the client raises it."""
    global _quick_paused_until
    if time.monotonic() < _quick_paused_until:
        return await redis().execute_command(*args)  # type: ignore[no-untyped-call]
    client = redis()
    conn = _quick.pop() if _quick else None
    if conn is None:
        pool = client.connection_pool
        conn = pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": None})
    try:
        async with asyncio.timeout(COMMAND_TIMEOUT):
            await conn.send_command(*args)  # connects first when it is not connected
            reply = await conn.read_response()
    except ResponseError:  # the server's answer, read whole: the connection is fine
        _give_back(conn)
        raise
    except Exception:
        await conn.disconnect(nowait=True)
        _quick_paused_until = time.monotonic() + QUICK_PAUSE
        return await client.execute_command(*args)  # type: ignore[no-untyped-call]
    except BaseException:  # cancelled mid-command: its reply may still come
        await conn.disconnect(nowait=True)
        raise
    _give_back(conn)
    return reply


def _give_back(conn: AbstractConnection) -> None:
    if len(_quick) < QUICK_KEPT:
        _quick.append(conn)
    else:
        _close_later(conn)
