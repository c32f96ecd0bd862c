"""Invitations, roles, removal, profile and company edits; other tenants stay out of reach."""

from __future__ import annotations

import re
from typing import Any

from app.accounts.tables import Membership
from app.core.db import tenant_transaction
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Account, browser_client, make_account, run_jobs


async def _member_ids(account: Account) -> dict[str, str]:
    async with tenant_transaction(account.tenant_id) as conn:
        rows = await conn.fetch(
            "select m.id, u.email from memberships m join users u on u.id = m.user_id"
        )
    return {r["email"]: str(r["id"]) for r in rows}


async def _invite_and_accept(
    app: Any, client_a: Any, mailbox: Any, role: str = "member"
) -> tuple[str, Any]:
    email = unique_email("colleague")
    response = await client_a.post_form("/settings/team/invite", {"email": email, "role": role})
    assert response.status_code == 303
    await run_jobs()
    link = mailbox.last_link(email, "/invite/accept")
    return email, link


async def test_invite_accept_new_account_joins_with_role(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    email, link = await _invite_and_accept(app, client_a, mailbox, role="admin")
    team = await client_a.get("/settings/team")
    assert email in team.text and "Pending invitations" in team.text
    async with browser_client(app) as guest:
        page = await guest.get(link)
        assert page.status_code == 200 and tenant_a.company in page.text and "admin" in page.text
        await guest.refresh_csrf(link)
        token = link.split("token=")[1]
        weak = await guest.post_form(
            "/invite/accept", {"token": token, "name": "Col", "password": "x"}
        )
        assert weak.status_code == 422 and "at least 8" in weak.text
        ok = await guest.post_form(
            "/invite/accept", {"token": token, "name": "Col League", "password": PASSWORD}
        )
        assert ok.status_code == 303
        home = await guest.get("/app")
        assert tenant_a.company in home.text and tenant_b.company not in home.text
        assert "Verify your email" not in home.text  # the mailed link proved the address
        await guest.refresh_csrf("/app")
        again = await guest.post_form(
            "/invite/accept", {"token": token, "name": "Col League", "password": PASSWORD}
        )
        assert again.status_code == 400 and "already used" in again.text
    assert email in await _member_ids(tenant_a)
    assert email not in await _member_ids(tenant_b)


async def test_invite_rejects_bad_input(client_a: Any, tenant_a: Account) -> None:
    for data, message in [
        ({"email": "nope", "role": "member"}, "valid email"),
        ({"email": tenant_a.email, "role": "member"}, "already in your team"),
        ({"email": unique_email(), "role": "emperor"}, "owner, admin or member"),
    ]:
        response = await client_a.post_form("/settings/team/invite", data)
        assert response.status_code == 422 and message in response.text, data
    email = unique_email()
    assert (
        await client_a.post_form("/settings/team/invite", {"email": email, "role": "member"})
    ).status_code == 303
    dup = await client_a.post_form("/settings/team/invite", {"email": email, "role": "member"})
    assert dup.status_code == 422 and "open invitation" in dup.text


async def test_unverified_owner_cannot_invite(app: Any) -> None:
    account = await make_account("U", verified=False)
    async with browser_client(app) as c:
        await c.login(account.email, account.password)
        response = await c.post_form(
            "/settings/team/invite", {"email": unique_email(), "role": "member"}
        )
        assert response.status_code == 422 and "Verify your own email" in response.text


async def test_roles_and_last_owner_protection(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    email, link = await _invite_and_accept(app, client_a, mailbox)
    async with browser_client(app) as guest:
        await guest.refresh_csrf(link)
        token = link.split("token=")[1]
        await guest.post_form(
            "/invite/accept", {"token": token, "name": "Mem Ber", "password": PASSWORD}
        )
        await guest.refresh_csrf("/app")
        ids = await _member_ids(tenant_a)
        # a member cannot manage the team
        denied = await guest.post_form(f"/settings/team/members/{ids[tenant_a.email]}/remove")
        assert denied.status_code == 403
    # the only owner cannot demote or remove themselves
    own = ids[tenant_a.email]
    demote = await client_a.post_form(f"/settings/team/members/{own}/role", {"role": "member"})
    assert demote.status_code == 422 and "at least one owner" in demote.text
    remove = await client_a.post_form(f"/settings/team/members/{own}/remove")
    assert remove.status_code == 422 and "at least one owner" in remove.text
    # promote the colleague, then they can be the other owner
    promote = await client_a.post_form(
        f"/settings/team/members/{ids[email]}/role", {"role": "owner"}
    )
    assert promote.status_code == 303
    async with tenant_transaction(tenant_a.tenant_id):
        assert await Membership.count().where(Membership.role == "owner") == 2
    removed = await client_a.post_form(f"/settings/team/members/{ids[email]}/remove")
    assert removed.status_code == 303
    assert email not in await _member_ids(tenant_a)


async def test_foreign_tenant_ids_are_not_found(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    b_ids = await _member_ids(tenant_b)
    target = b_ids[tenant_b.email]
    for path, data in [
        (f"/settings/team/members/{target}/role", {"role": "member"}),
        (f"/settings/team/members/{target}/remove", {}),
    ]:
        response = await client_a.post_form(path, data)
        assert response.status_code == 404, path
    assert tenant_b.email in await _member_ids(tenant_b)  # untouched
    async with tenant_transaction(tenant_b.tenant_id):
        assert await Membership.count().where(Membership.role == "owner") == 1
    bad = await client_a.post_form("/settings/team/members/not-a-uuid/remove")
    assert bad.status_code in (400, 404, 405)


async def test_removed_member_is_signed_out_of_the_workspace(
    app: Any, client_a: Any, tenant_a: Account, mailbox: Any
) -> None:
    email, link = await _invite_and_accept(app, client_a, mailbox)
    async with browser_client(app) as guest:
        await guest.refresh_csrf(link)
        await guest.post_form(
            "/invite/accept",
            {"token": link.split("token=")[1], "name": "Tem P", "password": PASSWORD},
        )
        assert (await guest.get("/app")).status_code == 200
        ids = await _member_ids(tenant_a)
        await client_a.post_form(f"/settings/team/members/{ids[email]}/remove")
        assert (await guest.get("/app")).status_code == 303


async def test_profile_and_company_corrections(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    saved = await client_a.post_form(
        "/settings/profile", {"section": "name", "name": "Ada Corrected"}
    )
    assert saved.status_code == 303
    assert "Ada Corrected" in (await client_a.get("/settings/profile")).text
    empty = await client_a.post_form("/settings/profile", {"section": "name", "name": "  "})
    assert empty.status_code == 422 and "Enter your name" in empty.text
    renamed = await client_a.post_form("/settings/company", {"company": "Renamed Robotics"})
    assert renamed.status_code == 303
    assert "Renamed Robotics" in (await client_a.get("/app")).text
    assert "Renamed Robotics" not in (await client_b.get("/app")).text
    wrong = await client_a.post_form(
        "/settings/profile",
        {"section": "email", "email": unique_email(), "current_password": "not my password"},
    )
    assert wrong.status_code == 422 and "current password" in wrong.text
    taken = await client_a.post_form(
        "/settings/profile",
        {"section": "email", "email": tenant_b.email, "current_password": tenant_a.password},
    )
    assert taken.status_code == 422 and "already uses" in taken.text


async def test_second_company_sees_none_of_the_first_over_http(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    for path in ("/app", "/settings/team", "/settings/company"):
        page_b = await client_b.get(path)
        assert page_b.status_code == 200
        assert tenant_a.company not in page_b.text and tenant_a.email not in page_b.text
    _ = re


async def test_member_of_two_workspaces_switches_between_them(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    """An existing account accepts an invitation to a second company and can open both."""
    async with browser_client(app) as b_owner:
        await b_owner.login(tenant_b.email, tenant_b.password)
        await b_owner.post_form(
            "/settings/team/invite", {"email": tenant_a.email, "role": "member"}
        )
    await run_jobs()
    link = mailbox.last_link(tenant_a.email, "/invite/accept")
    page = await client_a.get(link)
    assert "already have an Odex account" in page.text
    accepted = await client_a.post_form("/invite/accept", {"token": link.split("token=")[1]})
    assert accepted.status_code == 303
    await client_a.refresh_csrf("/app")
    assert tenant_b.company in (await client_a.get("/app")).text
    listing = await client_a.get("/workspaces")
    assert tenant_a.company in listing.text and tenant_b.company in listing.text
    back = await client_a.post_form(f"/workspaces/{tenant_a.tenant_id}/switch")
    assert back.status_code == 303
    assert tenant_a.company in (await client_a.get("/app")).text
    stranger = await make_account("S")
    refused = await client_a.post_form(f"/workspaces/{stranger.tenant_id}/switch")
    assert refused.status_code == 404


async def test_kept_header_follows_role_changes_and_never_shows_another_workspace(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    """The header's kept slots (templating.slots_html): the alerts button appears and goes
    with the admin role on the next page, the bell is always the viewer's own workspace's."""
    page_a, page_b = (await client_a.get("/app")).text, (await client_b.get("/app")).text
    assert f'id="bell-{tenant_a.tenant_id}"' in page_a and 'id="alerts-badge"' in page_a
    assert f'id="bell-{tenant_b.tenant_id}"' in page_b
    assert f"bell-{tenant_a.tenant_id}" not in page_b and f"bell-{tenant_b.tenant_id}" not in page_a
    email, link = await _invite_and_accept(app, client_a, mailbox, role="admin")
    async with browser_client(app) as guest:
        await guest.get(link)
        await guest.refresh_csrf(link)
        token = link.split("token=")[1]
        await guest.post_form(
            "/invite/accept", {"token": token, "name": "Ad Min", "password": PASSWORD}
        )
        page = (await guest.get("/app")).text
        assert 'id="alerts-badge"' in page and f'id="bell-{tenant_a.tenant_id}"' in page
        ids = await _member_ids(tenant_a)
        demote = await client_a.post_form(
            f"/settings/team/members/{ids[email]}/role", {"role": "member"}
        )
        assert demote.status_code == 303
        page = (await guest.get("/app")).text
        assert 'id="alerts-badge"' not in page and f'id="bell-{tenant_a.tenant_id}"' in page
        assert "Ad Min" in page
    assert 'id="alerts-badge"' in (await client_a.get("/app")).text


async def test_pages_with_kept_layout_parts_are_byte_identical_to_a_fresh_render(
    client_a: Any, client_b: Any
) -> None:
    """Each signed-in page, full and htmx, for two workspaces' owners in turn: the same bytes
    with the layout's kept parts (slots, sidebar) warm as with every kept part forgotten."""
    from app.core import templating

    paths = ["/app", "/deals/board", "/contacts", "/companies", "/settings/team", "/workspaces"]
    for path in paths:  # each viewer's warm page follows the other's render of it
        for client in (client_a, client_b, client_a):
            for headers in ({}, {"HX-Request": "true"}):
                warm = await client.get(path, headers=headers)
                assert warm.status_code == 200, (path, warm.status_code)
                for kept in (
                    templating._kept_slots, templating._kept_areas,
                    templating._sidebars, templating._path_links,
                ):  # fmt: skip
                    kept.clear()
                fresh = await client.get(path, headers=headers)
                assert warm.content == fresh.content, path
