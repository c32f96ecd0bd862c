"""Deletion, checked: a person with data in every place the data map lists deletes their account
(sole owner, then member) and a workspace is purged; the deletion report's scan finds nothing.

Before each deletion the same scan must find the person or workspace in every place that can
hold them, so a place added to the map without seed data here fails this test too.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any
from uuid import UUID

import pytest

from app.core.datamap import Subject
from app.core.db import global_transaction, tenant_transaction
from app.core.redis import redis
from app.privacy import deletion
from app.privacy.purge import person
from tests.billing.fake_stripe import FakeStripe, subscription
from tests.helpers import PASSWORD, Account, browser_client, run_jobs
from tests.privacy.everywhere import (
    Person,
    expected_places,
    found_places,
    seed_person,
    seed_workspace,
)
from tests.privacy.seed import add_member


async def _reports(request_id: UUID) -> list[dict[str, Any]]:
    async with global_transaction() as conn:
        rows = await conn.fetch("select * from deletion_reports where request_id = $1", request_id)
    return [
        {**dict(r), "findings": json.loads(r["findings"]), "kept": json.loads(r["kept"])}
        for r in rows
    ]


async def _request(email: str) -> dict[str, Any]:
    async with global_transaction() as conn:
        row = await conn.fetchrow(
            "select * from deletion_requests where notify_email = $1 and scope = 'account'"
            " order by requested_at desc limit 1",
            email,
        )
    assert row is not None
    return dict(row)


async def _make_due(*request_ids: Any) -> None:
    """End the grace period of these requests only (other tests' requests stay scheduled)."""
    async with global_transaction() as conn:
        await conn.execute(
            "update deletion_requests set due_at = now() - interval '1 second'"
            " where status = 'scheduled' and id = any($1::uuid[])",
            list(request_ids),
        )


async def _counts(tenant_id: UUID) -> dict[str, int]:
    async with tenant_transaction(tenant_id) as conn:
        return {
            t: int(await conn.fetchval(f"select count(*) from {t}"))
            for t in ("contacts", "notes", "memberships", "audit_log", "usage_events")
        }


async def test_sole_owner_deletes_account_and_workspace_nothing_left(
    app: Any,
    tenant_a: Account,
    tenant_b: Account,
    fake_stripe: FakeStripe,
    owner_conn: Any,
) -> None:
    stack = AsyncExitStack()
    owner = Person(tenant_a.user_id, tenant_a.tenant_id, tenant_a.email, tenant_a.name, PASSWORD)
    member_id, member_email = await add_member(tenant_a.tenant_id)
    member = Person(member_id, tenant_a.tenant_id, member_email, "Mia Member", PASSWORD)
    async with global_transaction() as conn:
        await conn.execute("update users set is_staff = true where id = $1", owner.user_id)
    await owner_conn.execute(  # a policy version the owner published as staff
        "insert into policy_versions (version, summary, effective_at, published_by)"
        " values (99, 'probe', now() + interval '40 days', $1)",
        owner.user_id,
    )
    browser = await stack.enter_async_context(browser_client(app))
    await browser.login(owner.email, PASSWORD)  # before MFA is on (seeded below)
    try:
        await seed_person(app, owner, staff_extras=True)
        await seed_person(app, member)
        await seed_workspace(owner)
        sub = subscription("sub_gone", "cus_gone", tenant_a.tenant_id)
        fake_stripe.set_subscription(sub)
        fake_stripe.customers["cus_gone"] = {"id": "cus_gone"}
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            await conn.execute(
                "insert into billing_accounts (tenant_id, plan, status, stripe_customer_id,"
                " stripe_subscription_id) values ($1, 'pro', 'active', 'cus_gone', 'sub_gone')"
                " on conflict (tenant_id) do update set plan = 'pro', status = 'active',"
                " stripe_customer_id = 'cus_gone', stripe_subscription_id = 'sub_gone'",
                tenant_a.tenant_id,
            )
        b_before = await _counts(tenant_b.tenant_id)
        subjects = [
            await person(owner.user_id),
            await person(member.user_id),
            Subject(workspace_id=tenant_a.tenant_id),
        ]
        assert await found_places(subjects) == expected_places()  # data in every place

        page = await browser.get("/settings/export")
        assert 'id="sole-owned"' in page.text and "Hand it to Mia Member" in page.text
        refused = await browser.post_form(
            "/settings/delete", {"scope": "account", "password": PASSWORD}
        )
        assert refused.status_code == 422 and "only owner of" in refused.text
        field = f"workspace_{tenant_a.tenant_id}"
        done = await browser.post_form(
            "/settings/delete", {"scope": "account", "password": PASSWORD, field: "delete"}
        )
        assert done.status_code == 303
        account = await _request(owner.email)
        async with global_transaction() as conn:
            workspace_request = await conn.fetchval(
                "select id from deletion_requests where with_account = $1", account["id"]
            )
        assert workspace_request is not None
        await _make_due(workspace_request, account["id"])
        assert await deletion.purge_deletion(None, str(account["id"])) == "waiting"
        assert await deletion.sweep_deletions() == 1  # only the workspace: the account waits
        await run_jobs()  # the workspace's purge, then the account's it unblocks

        for request_id in (workspace_request, account["id"]):
            reports = await _reports(request_id)
            assert [r["clean"] for r in reports] == [True], reports
            assert {k["place"] for k in reports[0]["kept"]} >= {"table:deletion_requests"}
        assert await found_places(subjects) == set()
        assert fake_stripe.subscriptions["sub_gone"]["status"] == "canceled"
        assert "cus_gone" not in fake_stripe.customers
        async with global_transaction() as conn:
            left = await conn.fetch(
                "select status, notify_email, progress::text as p from deletion_requests"
                " where id = any($1::uuid[])",
                [workspace_request, account["id"]],
            )
        assert {r["status"] for r in left} == {"completed"}
        assert not [r for r in left if r["notify_email"] or owner.email in r["p"]]
        assert await _counts(tenant_b.tenant_id) == b_before
    finally:
        await owner_conn.execute("delete from policy_versions where version = 99")
        await redis().delete("privacy:policy:latest")
        await stack.aclose()


async def test_member_deletes_account_nothing_left(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    member_id, member_email = await add_member(tenant_b.tenant_id)
    member = Person(member_id, tenant_b.tenant_id, member_email, "Mia Member", PASSWORD)
    async with browser_client(app) as browser:
        await browser.login(member_email, PASSWORD)  # before MFA is on
        await seed_person(app, member)
        subject = await person(member_id)
        found = await found_places([subject])
        assert {"table:users", "table:notes", "redis:sessions", "table:outbox"} <= found
        before = await _counts(tenant_b.tenant_id)
        page = await browser.get("/settings/export")
        assert 'id="sole-owned"' not in page.text
        response = await browser.post_form(
            "/settings/delete", {"scope": "account", "password": PASSWORD}
        )
        assert response.status_code == 303
    request = await _request(member_email)
    await _make_due(request["id"])
    assert await deletion.purge_deletion(None, str(request["id"])) == "completed"
    reports = await _reports(request["id"])
    assert [r["clean"] for r in reports] == [True], reports
    assert await found_places([subject]) == set()
    after = await _counts(tenant_b.tenant_id)  # the workspace keeps its records
    assert after["contacts"] == before["contacts"] and after["notes"] == before["notes"]
    assert after["memberships"] == before["memberships"] - 1
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert (
            await conn.fetchval("select count(*) from contacts where owner_id is null")
            == before["contacts"]
        )
        assert await conn.fetchval("select count(*) from audit_log where actor_id is null") > 0
    from app.security.audit import verify_chain

    assert (await verify_chain(tenant_b.tenant_id)).ok  # erased entries still verify
    async with global_transaction() as conn:
        await conn.execute("update users set is_staff = true where id = $1", tenant_a.user_id)
    async with browser_client(app) as staff, browser_client(app) as owner_b:
        await staff.login(tenant_a.email, PASSWORD)
        page = await staff.get("/staff/deletion-reports")
        assert page.status_code == 200 and str(request["id"]) in page.text
        assert "nothing left" in page.text and member_email not in page.text
        await owner_b.login(tenant_b.email, PASSWORD)
        assert (await owner_b.get("/staff/deletion-reports")).status_code == 403


async def test_sole_owner_hands_the_workspace_over(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    member_id, _ = await add_member(tenant_a.tenant_id)
    async with browser_client(app) as browser:
        await browser.login(tenant_a.email, PASSWORD)
        field = f"workspace_{tenant_a.tenant_id}"
        bad = await browser.post_form(
            "/settings/delete",
            {"scope": "account", "password": PASSWORD, field: str(tenant_b.user_id)},
        )
        assert bad.status_code == 422  # not a member there
        ok = await browser.post_form(
            "/settings/delete", {"scope": "account", "password": PASSWORD, field: str(member_id)}
        )
        assert ok.status_code == 303
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        roles = dict(await conn.fetch("select user_id, role from memberships"))
    assert roles[member_id] == "owner"
    request = await _request(tenant_a.email)
    await _make_due(request["id"])
    assert await deletion.purge_deletion(None, str(request["id"])) == "completed"
    assert [r["clean"] for r in await _reports(request["id"])] == [True]
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from tenants") == 1  # it lives on
        assert [r["user_id"] for r in await conn.fetch("select user_id from memberships")] == [
            member_id
        ]


@pytest.mark.parametrize("cancel", ["account"])
async def test_cancelling_the_account_deletion_keeps_the_workspace(
    app: Any, tenant_a: Account, tenant_b: Account, cancel: str
) -> None:
    async with browser_client(app) as browser:
        await browser.login(tenant_a.email, PASSWORD)
        page = await browser.get("/settings/export")
        assert 'id="sole-owned"' in page.text  # alone in it: only "delete it with me"
        field = f"workspace_{tenant_a.tenant_id}"
        await browser.post_form(
            "/settings/delete", {"scope": "account", "password": PASSWORD, field: "delete"}
        )
        assert (
            await browser.post_form("/settings/delete/cancel", {"scope": cancel})
        ).status_code == 303
    async with global_transaction() as conn:
        statuses = [
            r["status"]
            for r in await conn.fetch(
                "select status from deletion_requests where subject_user_id = $1",
                tenant_a.user_id,
            )
        ]
    assert sorted(statuses) == ["cancelled", "cancelled"]
