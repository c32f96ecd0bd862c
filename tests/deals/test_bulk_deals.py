"""Bulk actions on the deals list: move to a stage through the move's rules (a lost stage asks
for the reason in the confirmation, the reason is kept there and cleared on the way back,
versions, the timeline), assign an owner, delete; their undo; a whole view as a job; roles,
the other workspace's deals and stages, hostile input (422, never 500)."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from app.core.db import tenant_transaction
from tests.crm.test_bulk import confirmed
from tests.deals.helpers import add_colleague, make_deal, stages
from tests.helpers import Account, browser_client, run_jobs


async def deal_rows(account: Account, ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    async with tenant_transaction(account.tenant_id, account.user_id) as conn:
        rows = await conn.fetch(
            "select d.*, s.name as stage_name from deals d join stages s on s.id = d.stage_id"
            " where d.id = any($1::uuid[])",
            ids,
        )
    return {r["id"]: dict(r) for r in rows}


async def timeline(account: Account, deal_id: UUID) -> list[str]:
    async with tenant_transaction(account.tenant_id, account.user_id) as conn:
        rows = await conn.fetch("select summary from activities where subject_id = $1", deal_id)
    return [r["summary"] for r in rows]


async def test_move_to_lost_asks_why_and_is_undone(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    ours = [await make_deal(tenant_a, f"BdDeal{n}") for n in range(3)]
    theirs = await make_deal(tenant_b, "BdTheirs")
    lost = (await stages(tenant_a))["Lost"].id
    ids = [str(i) for i in [*ours, theirs]]
    form = {"action": "stage", "stage_id": str(lost), "ids": ids}
    asked = await client_a.post_form("/deals/bulk", form)
    assert asked.status_code == 200, asked.text[:1000]
    assert "Move 3 deals to Lost?" in asked.text and "Why were they lost?" in asked.text
    assert str(theirs) not in asked.text
    # confirmed without a reason: asked again, with the message, nothing moved
    bare = await client_a.post_form("/deals/bulk", {**form, "confirmed": "1"})
    assert bare.status_code == 422 and "Say why these deals were lost" in bare.text
    assert "Move 3 deals to Lost?" in bare.text
    assert {r["stage_name"] for r in (await deal_rows(tenant_a, ours)).values()} == {"Lead"}
    change = await confirmed(client_a, "deals", {**form, "lost_reason": "Budget cut"})
    rows = await deal_rows(tenant_a, ours)
    for deal_id in ours:
        row = rows[deal_id]
        assert row["stage_name"] == "Lost" and row["lost_reason"] == "Budget cut"
        assert row["version"] == 2
        assert any(
            s.startswith("Moved “BdDeal") and s.endswith("from Lead to Lost (lost: Budget cut)")
            for s in await timeline(tenant_a, deal_id)
        )
    other = (await deal_rows(tenant_b, [theirs]))[theirs]
    assert other["stage_name"] == "Lead" and other["version"] == 1
    page = await client_a.get(f"/bulk/{change}")
    assert "Moved 3 deals to Lost." in page.text and "Undo</button>" in page.text
    assert 'href="/deals/list"' in page.text
    assert (await client_b.get(f"/bulk/{change}")).status_code == 404
    # one deal is moved on the board meanwhile: the undo leaves it where it is
    moved = await client_a.post_form(
        f"/deals/{ours[0]}/move",
        {"stage_id": str((await stages(tenant_a))["Won"].id), "version": "2"},
        htmx=True,
    )
    assert moved.status_code == 200, moved.text[:500]
    undone = await client_a.post_form(f"/bulk/{change}/undo")
    assert undone.status_code == 303 and undone.headers["location"].startswith("/deals/list")
    rows = await deal_rows(tenant_a, ours)
    assert rows[ours[0]]["stage_name"] == "Won" and rows[ours[0]]["lost_reason"] is None
    for deal_id in ours[1:]:
        row = rows[deal_id]
        assert row["stage_name"] == "Lead" and row["lost_reason"] is None and row["version"] == 3


async def test_owner_delete_roles_and_a_whole_view_as_a_job(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    member = await add_colleague(tenant_a, mailbox, "member")
    ours = [await make_deal(tenant_a, f"BdOwn{n}") for n in range(2)]
    async with browser_client(app) as colleague:
        await colleague.login(member.email, member.password)
        owned = await confirmed(
            colleague,
            "deals",
            {"action": "owner", "owner_id": str(member.user_id), "ids": [str(i) for i in ours]},
        )
        rows = await deal_rows(tenant_a, ours)
        assert all(r["owner_id"] == member.user_id and r["version"] == 2 for r in rows.values())
        assert "Assigned 2 deals to" in (await colleague.get(f"/bulk/{owned}")).text
        # the member deletes; a delete has no undo
        gone = await confirmed(colleague, "deals", {"action": "delete", "ids": [str(ours[0])]})
        assert await deal_rows(tenant_a, [ours[0]]) == {}
        assert "Deleted the deal “BdOwn0”" in await timeline(tenant_a, ours[0])
        assert (await colleague.post_form(f"/bulk/{gone}/undo")).status_code == 422
    # a whole pipeline view of 300 deals, moved to Won as a job
    lead, won = (await stages(tenant_a))["Lead"], (await stages(tenant_a))["Won"]
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
        await conn.execute(
            "insert into deals (id, tenant_id, title, amount, currency, pipeline_id, stage_id,"
            " position) select gen_random_uuid(), $1, 'BdJob' || g, 10, 'EUR', $2, $3, g"
            " from generate_series(1, 300) g",
            tenant_a.tenant_id,
            lead.pipeline_id,
            lead.id,
        )
    view = f"pipeline={lead.pipeline_id}&stage={lead.id}&q=BdJob"
    form = {"action": "stage", "stage_id": str(won.id), "scope": "view", "view_query": view}
    asked = await client_a.post_form("/deals/bulk", form)
    assert "Move 300 deals to Won?" in asked.text and "runs in the background" in asked.text
    change = await confirmed(client_a, "deals", form)
    await run_jobs()
    page = await client_a.get(f"/bulk/{change}")
    assert "Moved 300 deals to Won." in page.text and "300</strong> of 300 done" in page.text
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
        in_won = await conn.fetchval(
            "select count(*) from deals where stage_id = $1 and title like 'BdJob%'", won.id
        )
    assert in_won == 300


async def test_hostile_and_foreign_deal_bulk_input_is_refused(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    mine = str(await make_deal(tenant_a, "BdHostile"))
    their_stage = str((await stages(tenant_b))["Won"].id)
    lost = str((await stages(tenant_a))["Lost"].id)
    cases: list[dict[str, Any]] = [
        {"action": "stage", "ids": [mine]},  # no stage
        {"action": "stage", "stage_id": their_stage, "ids": [mine]},  # another workspace's
        {"action": "stage", "stage_id": "\x00", "ids": [mine]},
        {"action": "stage", "stage_id": lost, "lost_reason": "a\x00b", "ids": [mine]},
        {"action": "stage", "stage_id": lost, "lost_reason": "x" * 100_000, "ids": [mine]},
        {"action": "add_tag", "tag": "t", "ids": [mine]},  # deals have no tags
        {"action": "delete", "scope": "view", "view_query": "amount_min=abc"},
        {"action": "delete", "scope": "view", "view_query": "pipeline=" + "é" * 5000},
        {"action": "delete", "ids": [str(uuid.uuid4())]},
    ]
    for data in cases:
        response = await client_a.post_form("/deals/bulk", data)
        assert response.status_code == 422, (data, response.status_code, response.text[:300])
    row = (await deal_rows(tenant_a, [UUID(mine)]))[UUID(mine)]
    assert row["stage_name"] == "Lead" and row["version"] == 1
