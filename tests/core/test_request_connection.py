"""A web request's held connection (`db.request_connection`): its self-scoped statements share
one pooled connection, and no tenant scope ever outlives a statement on it, nor the request."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import pytest

from app.accounts.queries import signed_in_row
from app.core import db
from app.core.db import request_connection, tenant_transaction
from tests.helpers import Account, browser_client

SCOPE = "select current_setting('app.tenant_id', true), current_setting('app.user_id', true)"
NO_SCOPE = ((None, None), ("", ""))
# memberships are tenant rows under RLS: without a scope none are visible
VISIBLE_MEMBERSHIPS = "select count(*) from memberships"


async def _pid(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("select pg_backend_pid()"))


async def _seen(conn: asyncpg.Connection) -> tuple[int, tuple[object, ...], int, bool]:
    """On `conn` as it is now: its backend, its scope, the memberships RLS lets it see, and
    whether a transaction is open."""
    pid = await _pid(conn)
    scope = tuple(await conn.fetchrow(SCOPE))
    seen = int(await conn.fetchval(VISIBLE_MEMBERSHIPS))
    return pid, scope, seen, conn.is_in_transaction()


async def _pool_connections_seen() -> dict[int, tuple[object, ...]]:
    """Every connection of the pool, held at once: backend -> (scope, memberships seen, in a
    transaction)."""
    pool = db.engine().pool
    assert pool is not None
    async with contextlib.AsyncExitStack() as stack:
        conns = [await stack.enter_async_context(pool.acquire()) for _ in range(pool.get_size())]
        found = {}
        for conn in conns:
            pid, scope, seen, in_txn = await _seen(conn)
            found[pid] = (scope, seen, in_txn)
        return found


async def test_a_requests_first_two_self_scoped_statements_share_one_clean_connection(
    tenant_a: Account, tenant_b: Account
) -> None:
    """The signed-in check and the page's first read on one held connection, which then goes
    back to the pool at once (the request keeps none for its later work): between and after
    them the connection has no scope and sees no tenant row; later statements take one from
    the pool each. Two workspaces' statements in one request (never asked, but the connection
    must not care) each see only their own workspace."""
    async with request_connection():
        a = await db.self_scoped(
            tenant_a.tenant_id,
            tenant_a.user_id,
            lambda c: signed_in_row(c, tenant_a.tenant_id, tenant_a.user_id),
        )
        between = await db.self_scoped(tenant_a.tenant_id, tenant_a.user_id, _seen)
        # given back after its second statement: in the pool, clean, while the request goes on
        scope, seen, in_txn = (await _pool_connections_seen())[between[0]]
        assert scope in NO_SCOPE and seen == 0 and not in_txn
        crossed = await db.self_scoped(
            tenant_a.tenant_id,
            tenant_b.user_id,
            lambda c: signed_in_row(c, tenant_a.tenant_id, tenant_b.user_id),
        )
        b = await db.self_scoped(
            tenant_b.tenant_id,
            tenant_b.user_id,
            lambda c: signed_in_row(c, tenant_b.tenant_id, tenant_b.user_id),
        )
        after = await db.self_scoped(tenant_b.tenant_id, tenant_b.user_id, _seen)
    assert a is not None and b is not None and a.tenant_name != b.tenant_name
    assert crossed is None  # B's owner is no member of A's workspace
    for _, scope, seen, in_txn in (between, after):
        assert scope in NO_SCOPE and seen == 0 and not in_txn
    for scope, seen, in_txn in (await _pool_connections_seen()).values():
        assert scope in NO_SCOPE and seen == 0 and not in_txn


async def test_the_held_connection_serves_the_second_statement_only(tenant_a: Account) -> None:
    """The connection the first statement took serves the second (one acquire for both) and
    is then back in the pool: nothing is held while the page does its other work."""
    ids = (tenant_a.tenant_id, tenant_a.user_id)
    pool = db.engine().pool
    assert pool is not None
    async with request_connection():
        first = await db.self_scoped(*ids, _pid)
        assert await db.self_scoped(*ids, _pid) == first
        async with pool.acquire() as conn:  # the one given back comes first (LIFO)
            idle = await _pid(conn)
        assert idle == first


async def test_a_last_statement_gives_the_held_connection_back_at_once(
    tenant_a: Account,
) -> None:
    """A page's state folded into the signed-in check is its last self-scoped statement
    (`last=True`): the connection goes back after it, not held through the page's rendering,
    and a later statement or transaction takes one from the pool."""
    ids = (tenant_a.tenant_id, tenant_a.user_id)
    pool = db.engine().pool
    assert pool is not None
    async with request_connection():
        first = await db.self_scoped(*ids, _pid, last=True)
        async with pool.acquire() as conn:  # back in the pool at once (LIFO: first out)
            assert await _pid(conn) == first
        scope, seen, in_txn = (await _pool_connections_seen())[first]
        assert scope in NO_SCOPE and seen == 0 and not in_txn


async def test_a_task_started_by_the_request_takes_its_own_connection(
    tenant_a: Account,
) -> None:
    """Only the request's own task uses its held connection: a task it starts (which
    inherits its context) takes one of its own, so the two never share a connection."""
    ids = (tenant_a.tenant_id, tenant_a.user_id)
    async with request_connection():
        mine = await db.self_scoped(*ids, _pid)
        theirs = await asyncio.gather(
            asyncio.create_task(db.self_scoped(*ids, _pid)),
            asyncio.create_task(db.self_scoped(*ids, _pid)),
        )
        assert mine not in theirs
        assert await db.self_scoped(*ids, _pid) == mine  # still held for the second


async def test_a_transaction_takes_the_held_connection_over(tenant_a: Account) -> None:
    """A transaction opened by the request runs on the connection the request held (it never
    waits for a second one while holding one), with its own scope, gone at its commit; the
    next self-scoped statement takes a connection again."""
    ids = (tenant_a.tenant_id, tenant_a.user_id)
    async with request_connection():
        held = await db.self_scoped(*ids, _pid)
        async with tenant_transaction(*ids) as conn:
            assert await _pid(conn) == held
            assert tuple(await conn.fetchrow(SCOPE)) == tuple(str(i) for i in ids)
            assert int(await conn.fetchval(VISIBLE_MEMBERSHIPS)) >= 1
        _, scope, seen, in_txn = await db.self_scoped(*ids, _seen)
        assert scope in NO_SCOPE and seen == 0 and not in_txn


async def test_a_failed_statement_keeps_the_connection_a_cancelled_one_gives_it_back(
    tenant_a: Account,
) -> None:
    """A statement that fails leaves the connection idle (autocommit): the request keeps it.
    One cancelled mid-statement goes back to the pool, and the request's next statement takes
    a fresh one, clean."""
    ids = (tenant_a.tenant_id, tenant_a.user_id)

    async def fails(conn: asyncpg.Connection) -> None:
        await conn.execute("select 1/0")

    async def sleeps(conn: asyncpg.Connection) -> None:
        await conn.execute("select pg_sleep(5)")

    async with request_connection():
        held = await db.self_scoped(*ids, _pid)
        with pytest.raises(asyncpg.DivisionByZeroError):
            await db.self_scoped(*ids, fails)
        assert await db.self_scoped(*ids, _pid) == held

    async def request() -> None:
        async with request_connection():
            await db.self_scoped(*ids, _pid)
            await db.self_scoped(*ids, sleeps)

    task = asyncio.create_task(request())
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for scope, seen, in_txn in (await _pool_connections_seen()).values():
        assert scope in NO_SCOPE and seen == 0 and not in_txn


async def test_signed_in_pages_leave_every_pooled_connection_clean(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """Pages of two workspaces (the board: two self-scoped statements on the request's
    connection; the dashboard: one transaction) leave no scope on any pooled connection."""
    for account in (tenant_a, tenant_b):
        async with browser_client(app) as client:
            await client.login(account.email, account.password)
            for path in ("/deals/board", "/app", "/deals/board"):
                page = await client.get(path)
                assert page.status_code == 200, path
    for scope, seen, in_txn in (await _pool_connections_seen()).values():
        assert scope in NO_SCOPE and seen == 0 and not in_txn
