"""Database access: the Piccolo engine and `tenant_transaction`, the only door to tenant data."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

_after_commit: contextvars.ContextVar[list[Callable[[], Awaitable[Any]]] | None] = (
    contextvars.ContextVar("odex_after_commit", default=None)
)
_scope: contextvars.ContextVar[tuple[UUID | None, UUID | None] | None] = contextvars.ContextVar(
    "odex_db_scope", default=None
)


def engine() -> PostgresEngine:
    """The Piccolo engine from piccolo_conf (built lazily: it connects when constructed)."""
    db = engine_finder()
    if not isinstance(db, PostgresEngine):
        raise RuntimeError("piccolo_conf.DB must be a PostgresEngine")
    return db


class CrossTenantNesting(RuntimeError):
    """A transaction for one tenant was opened inside a transaction for another."""


@asynccontextmanager
async def scoped_transaction(
    tenant_id: UUID | None = None, user_id: UUID | None = None
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction with `app.tenant_id` / `app.user_id` set locally (gone at commit).

    Nested calls for the same scope join the outer transaction; a different scope is refused,
    so one unit of work can never mix two tenants.
    """
    wanted = (tenant_id, user_id)
    current = _scope.get()
    if current is not None:
        if current != wanted:
            raise CrossTenantNesting("a transaction for another tenant or user is already open")
        txn = engine().current_transaction.get()
        assert txn is not None
        yield txn.connection
        return
    async with engine().transaction() as txn:
        conn: asyncpg.Connection = txn.connection
        await conn.execute(
            "select set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true)",
            str(tenant_id) if tenant_id else "",
            str(user_id) if user_id else "",
        )
        token = _scope.set(wanted)
        callbacks: list[Callable[[], Awaitable[Any]]] = []
        hooks = _after_commit.set(callbacks)
        try:
            yield conn
        finally:
            _scope.reset(token)
            _after_commit.reset(hooks)
    for callback in callbacks:  # reached only when the transaction committed
        await callback()


def after_commit(callback: Callable[[], Awaitable[Any]]) -> None:
    """Run `callback` once the current transaction commits (enqueue jobs, publish events).

    Outside a transaction it is a programming error: events must never announce rolled-back
    writes, so there is no "run now" fallback.
    """
    callbacks = _after_commit.get()
    if callbacks is None:
        raise RuntimeError("after_commit() needs an open transaction")
    callbacks.append(callback)


def tenant_transaction(
    tenant_id: UUID, user_id: UUID | None = None
) -> Any:  # an async context manager yielding the connection
    """The one way tenant data is touched: RLS sees only `tenant_id`'s rows inside it."""
    return scoped_transaction(tenant_id=tenant_id, user_id=user_id)


def user_transaction(user_id: UUID) -> Any:
    """A transaction that sees a user's own memberships across tenants (and nothing else)."""
    return scoped_transaction(user_id=user_id)


def global_transaction() -> Any:
    """A transaction for global tables only (users, tokens, outbox): no tenant is visible."""
    return scoped_transaction()


async def start_pool(max_size: int = 10) -> None:
    await engine().start_connection_pool(min_size=1, max_size=max_size)


async def close_pool() -> None:
    await engine().close_connection_pool()
