"""The one "use the open transaction or open one" rule of app.core.db, and its BEGIN counter."""

from __future__ import annotations

import asyncpg
import pytest

from app.core import db
from app.core.db import (
    CrossTenantNesting,
    global_transaction,
    tenant_transaction,
    transactions_begun,
    user_transaction,
)
from app.core.queries import begin_scoped
from tests.helpers import Account


async def test_same_scope_and_tenant_only_join_the_open_transaction(tenant_a: Account) -> None:
    before = transactions_begun()
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as outer:
        async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as same:
            assert same is outer
        async with tenant_transaction(tenant_a.tenant_id) as tenant_only:
            assert tenant_only is outer  # a tenant without a user: whoever the user is
        async with global_transaction() as global_work:
            assert global_work is outer  # global rows commit with the change that asked
        assert db.connection() is outer
        assert db.current_scope() == (tenant_a.tenant_id, tenant_a.user_id)
    assert transactions_begun() - before == 1


async def test_another_scope_is_refused(tenant_a: Account, tenant_b: Account) -> None:
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id):
        with pytest.raises(CrossTenantNesting):
            async with tenant_transaction(tenant_b.tenant_id):
                pass
        with pytest.raises(CrossTenantNesting):
            async with tenant_transaction(tenant_a.tenant_id, tenant_b.user_id):
                pass
        with pytest.raises(CrossTenantNesting):  # "no workspace" is not this workspace
            async with user_transaction(tenant_a.user_id):
                pass
    async with tenant_transaction(tenant_a.tenant_id):
        with pytest.raises(CrossTenantNesting):  # a user is not asked for by this one
            async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id):
                pass
    async with global_transaction():
        with pytest.raises(CrossTenantNesting):  # never widen a global transaction to a tenant
            async with tenant_transaction(tenant_a.tenant_id):
                pass


async def test_connection_outside_a_transaction_is_a_programming_error() -> None:
    assert db.current_scope() is None and not db.in_transaction()
    with pytest.raises(RuntimeError):
        db.connection()
    with pytest.raises(RuntimeError):
        db.after_commit(lambda: _nothing())


async def _nothing() -> None:
    return None


async def test_after_commit_runs_once_after_the_outer_commit_only(tenant_a: Account) -> None:
    ran: list[str] = []

    async def hook() -> None:
        ran.append("x")

    async with tenant_transaction(tenant_a.tenant_id):
        async with global_transaction():
            db.after_commit(hook)
        assert ran == []
    assert ran == ["x"]
    with pytest.raises(ValueError):
        async with tenant_transaction(tenant_a.tenant_id):
            db.after_commit(hook)
            raise ValueError("roll back")
    assert ran == ["x"]


async def test_a_released_connection_keeps_no_scope_nor_transaction(tenant_a: Account) -> None:
    """The pool skips asyncpg's session reset (`db.keep_session`): what the next user of a
    connection gets must still be clean: no tenant or user scope, no open transaction."""
    pool = await asyncpg.create_pool(
        **db.engine().config, min_size=1, max_size=1, reset=db.keep_session
    )
    scope = "select current_setting('app.tenant_id', true), current_setting('app.user_id', true)"
    try:
        async with pool.acquire() as conn:  # committed
            await conn.execute(begin_scoped(tenant_a.tenant_id, tenant_a.user_id))
            await conn.execute("commit")
        async with pool.acquire() as conn:  # the same connection: the pool holds one
            assert tuple(await conn.fetchrow(scope)) in ((None, None), ("", ""))
            await conn.execute(begin_scoped(tenant_a.tenant_id, tenant_a.user_id))
            with pytest.raises(asyncpg.DivisionByZeroError):
                await conn.execute("select 1/0")
            await conn.execute("rollback")
        async with pool.acquire() as conn:
            assert tuple(await conn.fetchrow(scope)) in ((None, None), ("", ""))
            # released with a transaction still open
            await conn.execute(begin_scoped(tenant_a.tenant_id, tenant_a.user_id))
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert tuple(await conn.fetchrow(scope)) in ((None, None), ("", ""))
    finally:
        await pool.close()


async def test_a_transaction_sets_its_scope_with_its_begin(tenant_a: Account) -> None:
    """BEGIN and the RLS scope are one round trip (`queries.begin_scoped`): the scope is set
    inside, gone after; ids are sent only as UUIDs."""
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
        assert conn.is_in_transaction()
        scope = "select current_setting('app.tenant_id'), current_setting('app.user_id')"
        assert tuple(await conn.fetchrow(scope)) == (
            str(tenant_a.tenant_id),
            str(tenant_a.user_id),
        )
    async with global_transaction() as conn:
        assert tuple(await conn.fetchrow(scope)) == ("", "")
    with pytest.raises(ValueError):
        begin_scoped("x', true); drop table users; --", None)  # type: ignore[arg-type]


async def test_a_self_scoped_statement_is_one_round_trip_and_leaves_no_scope(
    tenant_a: Account, tenant_b: Account
) -> None:
    """`db.self_scoped`: the signed-in check sets its RLS scope inside its one statement
    (odex_signed_in), in autocommit; nothing of it survives on the pooled connection, and it
    sees only the workspace it was asked for."""
    from app.accounts.queries import signed_in_row

    scope = "select current_setting('app.tenant_id', true), current_setting('app.user_id', true)"

    async def check_then_scope(conn: asyncpg.Connection) -> tuple[object, object]:
        row = await signed_in_row(conn, tenant_a.tenant_id, tenant_a.user_id)
        return row, (conn.is_in_transaction(), tuple(await conn.fetchrow(scope)))

    before = transactions_begun()
    row, (in_txn, after) = await db.self_scoped(
        tenant_a.tenant_id, tenant_a.user_id, check_then_scope
    )
    assert row is not None and not in_txn
    assert after in ((None, None), ("", ""))  # the scope ended with the statement
    assert transactions_begun() == before
    # another workspace's owner is no member of A's workspace: nothing, whatever is asked
    assert (
        await db.self_scoped(
            tenant_a.tenant_id,
            tenant_b.user_id,
            lambda conn: signed_in_row(conn, tenant_a.tenant_id, tenant_b.user_id),
        )
        is None
    )


async def test_a_self_scoped_statement_joins_only_its_own_scope(
    tenant_a: Account, tenant_b: Account
) -> None:
    """Inside an open transaction the statement would set that transaction's scope: only the
    very same tenant and user may run it there."""
    from app.accounts.queries import signed_in_row

    async def check(conn: asyncpg.Connection) -> object:
        return await signed_in_row(conn, tenant_a.tenant_id, tenant_a.user_id)

    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as outer:
        assert await db.self_scoped(tenant_a.tenant_id, tenant_a.user_id, check) is not None
        assert db.connection() is outer
    for open_scope in (
        tenant_transaction(tenant_a.tenant_id),  # a tenant without its user
        tenant_transaction(tenant_b.tenant_id, tenant_b.user_id),
        global_transaction(),
    ):
        async with open_scope:
            with pytest.raises(CrossTenantNesting):
                await db.self_scoped(tenant_a.tenant_id, tenant_a.user_id, check)
