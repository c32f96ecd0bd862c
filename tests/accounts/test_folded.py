"""A kept page's state folded into its signed-in check (app/core/folded.py): one statement,
one round trip, and still the signed-in check decides: a revoked session, a removed member, a
member of another workspace, a role below the route's level or an owner held by the MFA rule
get no state (its function is never even called), and a member of two workspaces gets the
role of the session's one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from app.accounts import queries
from app.core import sessions, web
from app.core.db import self_scoped, tally, tenant_transaction
from app.crm import company_page, dashboard_queries
from app.deals import board_cache, edit_form
from tests.crm.test_notes_tasks import add_colleague
from tests.crm.test_records import make_company
from tests.deals.helpers import make_deal
from tests.helpers import Account, Counts, browser_client, count_calls
from tests.security.helpers import join_workspace, require_owner_mfa

MEMBERS = ("member", "admin", "owner")
ADMINS = ("admin", "owner")


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """PostgreSQL statements sent by the app during a test (`reads`), pooled or not."""
    seen = Counts()
    for name in ("fetch", "fetchrow", "fetchval", "execute"):
        count_calls(monkeypatch, seen, "reads", asyncpg.Connection, name)
    yield seen
    web.forget_shells()


async def _folded(
    account: Account, tenant_id: uuid.UUID, call: str, roles: tuple[str, ...], *params: Any
) -> tuple[queries.SignedInRow | None, list[asyncpg.Record], int]:
    """The folded statement for `account`'s user in `tenant_id`, and how often the state
    function ran in it (EXPLAIN ANALYZE of the same statement, the plan's loops)."""
    sql = queries.signed_in_with_sql(call, roles)
    name = call.split("(")[0]

    async def read(conn: asyncpg.Connection) -> Any:
        row, rows = await queries.signed_in_with(conn, sql, tenant_id, account.user_id, *params)
        plan = await conn.fetchval(
            f"explain (analyze, format json) {sql}", tenant_id, account.user_id, *params
        )
        return row, rows, plan

    row, rows, plan = await self_scoped(tenant_id, account.user_id, read)
    return row, rows, _loops(json.loads(plan)[0]["Plan"], name)


def _loops(node: dict[str, Any], function: str) -> int:
    if node.get("Function Name") == function:
        return int(node.get("Actual Loops", 0))
    return sum(_loops(child, function) for child in node.get("Plans", []))


async def test_the_state_is_read_only_for_someone_who_may_see_the_page(
    tenant_a: Account, tenant_b: Account
) -> None:
    call = "odex_dashboard_state($1, $2)"
    row, rows, ran = await _folded(tenant_a, tenant_a.tenant_id, call, MEMBERS)
    assert row is not None and row.role == "owner" and len(rows) == 1 and ran == 1
    assert dashboard_queries.folded_state(rows) is not None
    # another workspace's: not signed in there, its state never read
    row, rows, ran = await _folded(tenant_b, tenant_a.tenant_id, call, MEMBERS)
    assert row is None and rows == [] and ran == 0
    # a removed member
    colleague = await add_colleague(tenant_a, "Folded")
    row, rows, ran = await _folded(colleague, tenant_a.tenant_id, call, MEMBERS)
    assert row is not None and row.role == "member" and len(rows) == 1
    # a role below the route's level: signed in, no state
    row, rows, ran = await _folded(colleague, tenant_a.tenant_id, call, ADMINS)
    assert row is not None and rows == [] and ran == 0
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("delete from memberships where user_id = $1", colleague.user_id)
    row, rows, ran = await _folded(colleague, tenant_a.tenant_id, call, MEMBERS)
    assert row is None and rows == [] and ran == 0


async def test_a_member_of_two_workspaces_gets_the_sessions_role_mfa_held_gets_none(
    tenant_a: Account, tenant_b: Account
) -> None:
    await join_workspace(tenant_a.user_id, tenant_b.tenant_id, "member")
    call = "odex_board_pipelines($1, $2)"
    row, rows, _ = await _folded(tenant_a, tenant_b.tenant_id, call, ADMINS)
    assert row is not None and row.role == "member" and rows == []
    row, rows, _ = await _folded(tenant_a, tenant_a.tenant_id, call, ADMINS)
    assert row is not None and row.role == "owner" and rows
    # their state is their workspace's: B's pipelines only, read as a member there
    _, theirs, _ = await _folded(tenant_a, tenant_b.tenant_id, call, MEMBERS)
    _, b_own, _ = await _folded(tenant_b, tenant_b.tenant_id, call, MEMBERS)
    assert {r["id"] for r in theirs} == {r["id"] for r in b_own}
    assert not {r["id"] for r in theirs} & {r["id"] for r in rows}
    # an owner held by the workspace's MFA rule: signed in (to enrol), no page state
    await require_owner_mfa(tenant_a.tenant_id)
    row, rows, ran = await _folded(tenant_a, tenant_a.tenant_id, call, MEMBERS)
    assert row is not None and row.mfa_held and rows == [] and ran == 0


async def test_a_kept_page_is_one_statement_in_all(
    client_a: Any, tenant_a: Account, statements: Counts
) -> None:
    """Kept, the dashboard, the board, a company page and a deal's edit form cost one
    PostgreSQL statement (the signed-in check with the page's state), no transaction."""
    company = await make_company(client_a, "Folded Corp")
    deal = await make_deal(tenant_a, "Folded deal")
    for forget in (board_cache.forget_all, company_page.forget_all, edit_form.forget_all):
        forget()
    for path in ("/app", "/deals/board", f"/companies/{company}", f"/deals/{deal}/edit"):
        first = await client_a.get(path)
        assert first.status_code == 200
        statements.reads = 0
        with tally() as opened:
            again = await client_a.get(path)
        assert again.status_code == 200 and again.text.count("Folded") == first.text.count("Folded")
        assert (statements.reads, opened[0]) == (1, 0), path


async def test_a_refused_request_uses_no_state(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, statements: Counts
) -> None:
    """A removed member's kept page: the one statement finds no membership, the page is
    refused (sign in again), and B's member never sees A's company, kept or not."""
    colleague = await add_colleague(tenant_a, "Gone")
    company = await make_company(client_a, "Refused Corp")
    deal = await make_deal(tenant_a, "Refused deal")
    async with browser_client(app) as client:
        await client.login(colleague.email, colleague.password)
        for path in ("/app", "/deals/board", f"/companies/{company}", f"/deals/{deal}/edit"):
            assert (await client.get(path)).status_code == 200
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            await conn.execute("delete from memberships where user_id = $1", colleague.user_id)
        statements.reads = 0
        refused = await client.get(f"/companies/{company}")
        assert refused.status_code in (302, 303) and "Refused Corp" not in refused.text
        assert statements.reads == 1
        for path in ("/app", "/deals/board"):  # signed out now: no statement at all
            statements.reads = 0
            gone = await client.get(path)
            assert gone.status_code in (302, 303) and statements.reads == 0
    async with browser_client(app) as other:
        await other.login(tenant_b.email, tenant_b.password)
        for path, name in (
            (f"/companies/{company}", "Refused Corp"),
            (f"/deals/{deal}/edit", "Refused deal"),
        ):
            theirs = await other.get(path)
            assert theirs.status_code == 404 and name not in theirs.text


async def test_a_revoked_session_reads_nothing(
    app: Any, tenant_a: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's sessions revoked (as a password change does): the kept pages run no
    signed-in check (folded or not: no state read), and refuse."""
    checks = Counts()
    for name in ("signed_in_with", "signed_in_row"):
        count_calls(monkeypatch, checks, "reads", queries, name)
    async with browser_client(app) as client:
        await client.login(tenant_a.email, tenant_a.password)
        assert (await client.get("/app")).status_code == 200
        assert checks.reads == 2  # the login's redirect target and this page
        await sessions.destroy_user_sessions(str(tenant_a.user_id))
        checks.reads = 0
        for path in ("/app", "/deals/board"):
            page = await client.get(path)
            assert page.status_code in (302, 303)
        assert checks.reads == 0
