"""Backing-service outages: which errors mean "PostgreSQL or Valkey is unreachable right now".

A request that meets one gets a 503 page with Retry-After (app/core/errors.py); a long job that
meets one is handed back to the queue instead of failing (app/core/lease.py). Both clients
reconnect by themselves once the server is back (asyncpg's pool replaces closed connections,
redis-py reconnects on the next command), so nothing here keeps state.
"""

from __future__ import annotations

import asyncpg
from asyncpg.exceptions import (
    AdminShutdownError,
    CannotConnectNowError,
    CrashShutdownError,
    PostgresConnectionError,
    TooManyConnectionsError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(Exception):
    """PostgreSQL or Valkey/Redis could not be reached; `service` names which."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} is unreachable")
        self.service = service


# Every error that says "the server is down, restarting or unreachable", never "your query is
# wrong". PgBouncer reports a PostgreSQL it cannot reach as a protocol violation (class 08).
DATABASE_DOWN: tuple[type[Exception], ...] = (
    PostgresConnectionError,  # class 08: connection gone, refused, protocol violation
    CannotConnectNowError,  # starting up or shutting down
    AdminShutdownError,
    CrashShutdownError,
    TooManyConnectionsError,
    asyncpg.InterfaceError,  # "connection is closed"
    ConnectionError,  # refused / reset (TCP)
)
# Opening a connection can also fail with these; only there do they mean "server down" (a
# route that reads a missing file must still get its own error, not a 503).
DATABASE_CONNECT_FAILED: tuple[type[Exception], ...] = (
    *DATABASE_DOWN,
    OSError,  # e.g. the unix socket file is gone while PostgreSQL is stopped
    TimeoutError,  # the connect timeout
)
REDIS_DOWN: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
BACKEND_DOWN: tuple[type[Exception], ...] = (ServiceUnavailable, *REDIS_DOWN, *DATABASE_DOWN)


def which_service(exc: BaseException) -> str:
    """'Valkey', 'PostgreSQL' (for the log line and the operator)."""
    if isinstance(exc, ServiceUnavailable):
        return exc.service
    return "Valkey" if isinstance(exc, REDIS_DOWN) else "PostgreSQL"
