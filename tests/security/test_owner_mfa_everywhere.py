""" "MFA required for owners" holds on every request, however someone became an owner there:
by switching workspace, by a later promotion, or by turning MFA off from another workspace."""

from __future__ import annotations

import time
from typing import Any

from app.core.db import tenant_transaction
from tests.helpers import Account, browser_client, make_account
from tests.security.helpers import add_member, enable_mfa, join_workspace, require_owner_mfa

HELD = "requires two-factor authentication for owners"


async def _held(client: Any) -> bool:
    response = await client.get("/contacts")
    if response.status_code == 200:
        return False
    assert response.status_code == 403 and HELD in response.text
    return True


async def test_switching_into_a_workspace_that_requires_mfa_holds_an_owner_without_it(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await require_owner_mfa(tenant_b.tenant_id)
    await join_workspace(tenant_a.user_id, tenant_b.tenant_id, "owner")
    async with browser_client(app) as client:
        await client.login(tenant_a.email, tenant_a.password)  # lands in A: no rule there
        assert not await _held(client)
        switched = await client.post_form(f"/workspaces/{tenant_b.tenant_id}/switch")
        assert switched.status_code == 303
        assert await _held(client)
        assert (await client.get("/settings/security")).status_code == 200  # to enrol
        assert (await client.get("/workspaces")).status_code == 200  # or to leave
        refused = await client.post_form("/settings/security/policy", {})  # not the way out
        assert refused.status_code == 403 and HELD in refused.text


async def test_a_member_promoted_to_owner_is_held_on_the_next_request(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await require_owner_mfa(tenant_a.tenant_id)
    await enable_mfa(tenant_a.user_id)
    member = await add_member(tenant_a, "member")
    async with browser_client(app) as client:
        await client.login(member.email, member.password)
        assert not await _held(client)
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            membership_id = await conn.fetchval(
                "select id from memberships where user_id = $1", member.user_id
            )
        promoted = await client_a.post_form(
            f"/settings/team/members/{membership_id}/role", {"role": "owner"}
        )
        assert promoted.status_code == 303
        assert await _held(client)


async def test_mfa_cannot_be_turned_off_from_another_workspace(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """A owns A (which requires MFA for owners) and is a member of B: opening the security
    page from B must not let them drop the second factor A requires."""
    totp = await enable_mfa(tenant_a.user_id)
    await require_owner_mfa(tenant_a.tenant_id)
    await join_workspace(tenant_a.user_id, tenant_b.tenant_id, "member")
    async with browser_client(app) as client:
        await client.refresh_csrf("/login")
        await client.post_form("/login", {"email": tenant_a.email, "password": tenant_a.password})
        await client.refresh_csrf("/login/mfa")
        assert (await client.post_form("/login/mfa", {"code": totp.now()})).status_code == 303
        await client.refresh_csrf("/app")  # the session id and token rotated at sign-in
        switched = await client.post_form(f"/workspaces/{tenant_b.tenant_id}/switch", {})
        assert switched.status_code == 303
        page = await client.get("/settings/security")
        assert tenant_b.company in page.text and 'id="mfa-status">On' in page.text
        fresh = totp.at(int(time.time()) + totp.interval)  # the login used this step's code
        off = await client.post_form(
            "/settings/security/mfa/disable",
            {"current_password": tenant_a.password, "code": fresh},
        )
        assert off.status_code == 422 and "must use two-factor authentication" in off.text
        assert tenant_a.company in off.text  # names the workspace that requires it
        page = await client.get("/settings/security")
        assert 'id="mfa-status">On' in page.text


async def test_a_held_owner_gets_no_live_socket_either(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    from tests.core.test_access_matrix import socket_handshake

    other = await make_account("O")
    await require_owner_mfa(other.tenant_id)
    async with browser_client(app) as client:
        await client.refresh_csrf("/login")
        await client.post_form("/login", {"email": other.email, "password": other.password})
        assert await _held(client)
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        assert await socket_handshake(app, cookie) == ("close", 4403)
