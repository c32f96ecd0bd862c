"""Someone who owns workspace A and is a member (or admin) of B gets B's role in B, never A's:
memberships are read inside their workspace only, the last-owner rule counts this workspace's
owners, and an action on a membership of another workspace is "not found", never "done"."""

from __future__ import annotations

from typing import Any

from app.accounts.services import load_current
from app.core.db import tenant_transaction, user_transaction
from tests.helpers import Account, browser_client, make_account
from tests.security.helpers import join_workspace, require_owner_mfa


async def _in_workspace(app: Any, account: Account, tenant_id: Any) -> Any:
    cm = browser_client(app)
    client = await cm.__aenter__()
    await client.login(account.email, account.password)
    switched = await client.post_form(f"/workspaces/{tenant_id}/switch")
    assert switched.status_code == 303
    await client.refresh_csrf("/app")
    return cm, client


async def _role_in(tenant_id: Any, user_id: Any) -> str | None:
    async with tenant_transaction(tenant_id) as conn:
        role = await conn.fetchval(
            "select role from memberships where tenant_id = $1 and user_id = $2",
            tenant_id,
            user_id,
        )
    return str(role) if role else None


async def test_inside_a_workspace_only_its_memberships_are_visible(
    tenant_a: Account, tenant_b: Account
) -> None:
    await join_workspace(tenant_a.user_id, tenant_b.tenant_id, "member")
    async with tenant_transaction(tenant_b.tenant_id, tenant_a.user_id) as conn:
        mine = await conn.fetch(
            "select tenant_id, role from memberships where user_id = $1", tenant_a.user_id
        )
        seats = await conn.fetchval("select count(*) from memberships")
        owners = await conn.fetchval("select count(*) from memberships where role = 'owner'")
    assert [(r["tenant_id"], r["role"]) for r in mine] == [(tenant_b.tenant_id, "member")]
    assert (seats, owners) == (2, 1)  # B's owner and the newcomer; A's owner row is not here
    async with user_transaction(tenant_a.user_id) as conn:  # listing one's workspaces still works
        everywhere = await conn.fetch(
            "select tenant_id from memberships where user_id = $1", tenant_a.user_id
        )
    assert {r["tenant_id"] for r in everywhere} == {tenant_a.tenant_id, tenant_b.tenant_id}
    current = await load_current(tenant_a.user_id, tenant_b.tenant_id)
    assert current is not None and current.role == "member" and not current.is_admin


async def test_owner_elsewhere_has_member_rights_here_over_http(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await join_workspace(tenant_a.user_id, tenant_b.tenant_id, "member")
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        b_owner = await conn.fetchval(
            "select id from memberships where user_id = $1", tenant_b.user_id
        )
    cm, client = await _in_workspace(app, tenant_a, tenant_b.tenant_id)
    try:
        assert (await client.get("/settings/team")).status_code == 200  # a member's page
        for path, data in [
            ("/settings/team/invite", {"email": "friend@example.com", "role": "owner"}),
            (f"/settings/team/members/{b_owner}/role", {"role": "member"}),
            (f"/settings/team/members/{b_owner}/remove", {}),
            ("/settings/company", {"company": "Taken over"}),
            ("/settings/security/policy", {}),
            ("/deals/pipelines", {"name": "Mine now"}),
        ]:
            response = await client.post_form(path, data)
            assert response.status_code == 403, path
        assert (await client.get("/settings/audit")).status_code == 403
        assert (await client.get("/privacy/admin")).status_code == 403
    finally:
        await cm.__aexit__(None, None, None)
    assert await _role_in(tenant_b.tenant_id, tenant_b.user_id) == "owner"


async def test_admin_here_cannot_touch_their_membership_of_another_workspace(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """A role change or removal aimed at a row RLS hides is "not found", not "Role updated"."""
    await join_workspace(tenant_a.user_id, tenant_b.tenant_id, "admin")
    async with user_transaction(tenant_a.user_id) as conn:
        in_a = await conn.fetchval(
            "select id from memberships where tenant_id = $1 and user_id = $2",
            tenant_a.tenant_id,
            tenant_a.user_id,
        )
    cm, client = await _in_workspace(app, tenant_a, tenant_b.tenant_id)
    try:
        role = await client.post_form(f"/settings/team/members/{in_a}/role", {"role": "member"})
        assert role.status_code == 404
        remove = await client.post_form(f"/settings/team/members/{in_a}/remove")
        assert remove.status_code == 404
    finally:
        await cm.__aexit__(None, None, None)
    assert await _role_in(tenant_a.tenant_id, tenant_a.user_id) == "owner"


async def test_last_owner_rule_counts_only_this_workspaces_owners(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """The owner of A who is the only owner of C can't demote or remove themselves in C
    (A's owner row must not count as "another owner" of C)."""
    c = await make_account("C")
    mine = await join_workspace(tenant_a.user_id, c.tenant_id, "owner")
    async with tenant_transaction(c.tenant_id) as conn:
        await conn.execute("delete from memberships where user_id = $1", c.user_id)
    cm, client = await _in_workspace(app, tenant_a, c.tenant_id)
    try:
        demote = await client.post_form(f"/settings/team/members/{mine}/role", {"role": "admin"})
        assert demote.status_code == 422 and "at least one owner" in demote.text
        leave = await client.post_form(f"/settings/team/members/{mine}/remove")
        assert leave.status_code == 422 and "at least one owner" in leave.text
    finally:
        await cm.__aexit__(None, None, None)
    assert await _role_in(c.tenant_id, tenant_a.user_id) == "owner"


async def test_owner_mfa_rule_reads_the_role_of_the_workspace_signed_in_to(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """B requires MFA for owners; A's owner (no MFA) is only a member of B and lands in B at
    login: B must not hold them as if they were an owner there."""
    await require_owner_mfa(tenant_b.tenant_id)
    await join_workspace(tenant_a.user_id, tenant_b.tenant_id, "member", first=True)
    async with browser_client(app) as client:
        await client.login(tenant_a.email, tenant_a.password)
        home = await client.get("/app")
        assert home.status_code == 200 and tenant_b.company in home.text
        assert (await client.get("/contacts")).status_code == 200
