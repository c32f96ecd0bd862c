"""Large bulk changes as a background job: the view frozen at the start (records created later
are left alone), committed batches with progress on /bulk/<id>, a worker dying mid-way and
another resuming without changing any record twice, cancel, the undo of a job (a job too, and
only on records not edited since), roles, and the other workspace never counted or changed."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from uuid import UUID

from arq.constants import default_queue_name, job_key_prefix

from app.core.db import global_transaction, tenant_transaction
from app.core.lease import job_key, take_over_jobs
from app.core.redis import redis
from app.crm.bulk_jobs import BATCH, BULK_JOB, run_bulk_change
from tests.crm.test_bulk import bulk, confirmed
from tests.deals.helpers import add_colleague
from tests.helpers import Account, browser_client, run_jobs


async def insert_contacts(account: Account, count: int, tag: str, prefix: str) -> list[UUID]:
    """`count` contacts tagged `tag`, inserted in one statement (fast)."""
    async with tenant_transaction(account.tenant_id, account.user_id) as conn:
        rows = await conn.fetch(
            "insert into contacts (id, tenant_id, first_name, last_name, tags)"
            " select gen_random_uuid(), $1, $2 || g, 'Bulk', array[$3] from"
            " generate_series(1, $4) g returning id",
            account.tenant_id,
            prefix,
            tag,
            count,
        )
    return [r["id"] for r in rows]


async def contacts_tagged(account: Account, tag: str) -> list[dict[str, Any]]:
    async with tenant_transaction(account.tenant_id, account.user_id) as conn:
        rows = await conn.fetch(
            "select id, tags, version, owner_id from contacts where $1 = any(tags)", tag
        )
    return [dict(r) for r in rows]


async def change_row(account: Account, change_id: str) -> dict[str, Any]:
    async with tenant_transaction(account.tenant_id, account.user_id) as conn:
        row = await conn.fetchrow("select * from bulk_changes where id = $1", UUID(change_id))
    assert row is not None
    return dict(row)


async def die_holding_the_lease(tenant: Account, change_id: str) -> None:
    """What a SIGKILLed worker leaves: the job's lease held by it and run out, its arq job
    taken off the queue (it was running)."""
    key = job_key(BULK_JOB, str(tenant.tenant_id), change_id)
    async with global_transaction() as conn:
        await conn.execute(
            "update job_runs set status = 'running', owner = 'gone-host:1:dead',"
            " lease_until = now() - interval '1 second', finished_at = null where key = $1",
            key,
        )
    for job_id in await redis().zrange(default_queue_name, 0, -1):
        if job_id.decode().startswith(key + "@"):
            await redis().zrem(default_queue_name, job_id)
            await redis().delete(job_key_prefix + job_id.decode())


VIEW = "tags_op=any&tags={tag}&sort=name"
CHANGE_URL = re.compile(r"/bulk/([0-9a-f-]{36})$")


async def test_a_whole_view_as_a_job_survives_a_dead_worker_and_is_undone(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    total = 1200
    await insert_contacts(tenant_a, total, "bjview", "BjA")
    theirs = await insert_contacts(tenant_b, 5, "bjview", "BjB")
    form = {
        "action": "add_tag",
        "tag": "vip",
        "scope": "view",
        "view_query": VIEW.format(tag="bjview"),
    }
    asked = await bulk(client_a, "contacts", form)
    assert asked.status_code == 200, asked.text[:1000]
    assert "Add the tag “vip” to 1,200 contacts?" in asked.text
    assert "runs in the background" in asked.text and 'name="ids"' not in asked.text
    change = await confirmed(client_a, "contacts", form)
    page = await client_a.get(f"/bulk/{change}")
    assert page.status_code == 200 and "0</strong> of 1,200 done" in page.text
    assert 'hx-trigger="every 1s"' in page.text and "Cancel" in page.text
    # frozen at the start: a record added to the view afterwards is not touched
    later = await insert_contacts(tenant_a, 3, "bjview", "BjLater")
    # a worker runs one batch and dies holding the lease
    handled = await run_bulk_change({}, str(tenant_a.tenant_id), change, stop_after_batches=1)
    assert handled == BATCH
    await die_holding_the_lease(tenant_a, change)
    part = await client_a.get(f"/bulk/{change}", headers={"HX-Request": "true"})
    assert f"{BATCH}</strong> of 1,200 done" in part.text and "<html" not in part.text
    assert len(await contacts_tagged(tenant_a, "vip")) == BATCH
    # the takeover cron re-queues it; another worker goes on from the next record to do
    assert await take_over_jobs() >= 1
    await run_jobs()
    rows = await contacts_tagged(tenant_a, "bjview")
    changed = [r for r in rows if r["id"] not in later]
    assert len(changed) == total
    assert all(r["tags"] == ["bjview", "vip"] and r["version"] == 2 for r in changed)  # once
    assert all(r["tags"] == ["bjview"] and r["version"] == 1 for r in rows if r["id"] in later)
    for row in await contacts_tagged(tenant_b, "bjview"):
        assert row["id"] in theirs and row["tags"] == ["bjview"] and row["version"] == 1
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
        logged = await conn.fetchval(
            "select count(*) from activities where subject_id = any($1::uuid[])",
            [r["id"] for r in changed],
        )
    assert logged == total  # one timeline entry per record, none twice
    done = await client_a.get(f"/bulk/{change}")
    assert "Tagged 1,200 contacts “vip”." in done.text and "Undo</button>" in done.text
    assert 'hx-trigger="every 1s"' not in done.text
    assert (await change_row(tenant_a, change))["status"] == "done"
    # the other workspace neither sees nor steers it
    assert (await client_b.get(f"/bulk/{change}")).status_code == 404
    assert (await client_b.post_form(f"/bulk/{change}/cancel")).status_code == 404
    assert (await client_b.post_form(f"/bulk/{change}/undo")).status_code == 404
    # someone edits one record since; the undo (a job) leaves that one as it is
    edited = changed[0]["id"]
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
        await conn.execute(
            "update contacts set first_name = 'BjEdited', version = version + 1 where id = $1",
            edited,
        )
    undone = await client_a.post_form(f"/bulk/{change}/undo")
    assert undone.status_code == 303, undone.text[:1000]
    match = CHANGE_URL.search(undone.headers["location"])
    assert match
    undo_id = match.group(1)
    assert (await client_a.post_form(f"/bulk/{change}/undo")).status_code == 422  # once
    await run_jobs()
    after = {r["id"]: r for r in await contacts_tagged(tenant_a, "bjview")}
    assert after[edited]["tags"] == ["bjview", "vip"]
    restored = [r for i, r in after.items() if i != edited and i not in later]
    assert all(r["tags"] == ["bjview"] and r["version"] == 3 for r in restored)
    assert len(restored) == total - 1
    page = await client_a.get(f"/bulk/{undo_id}")
    assert "Undone on 1,199 contacts (1 edited since" in page.text


async def test_cancel_stops_a_job_and_roles(
    app: Any, client_a: Any, tenant_a: Account, mailbox: Any
) -> None:
    member = await add_colleague(tenant_a, mailbox, "member")
    other = await add_colleague(tenant_a, mailbox, "member")
    await insert_contacts(tenant_a, 1100, "bjcancel", "BjC")
    form = {
        "action": "owner",
        "owner_id": str(member.user_id),
        "scope": "view",
        "view_query": VIEW.format(tag="bjcancel"),
    }
    async with browser_client(app) as colleague, browser_client(app) as stranger:
        await colleague.login(member.email, member.password)
        await stranger.login(other.email, other.password)
        change = await confirmed(colleague, "contacts", form)  # a member may start one
        await run_bulk_change({}, str(tenant_a.tenant_id), change, stop_after_batches=1)
        await die_holding_the_lease(tenant_a, change)
        # another member may not cancel it; its author may
        refused = await stranger.post_form(f"/bulk/{change}/cancel")
        assert refused.status_code == 422 and "Only the member who started" in refused.text
        stopped = await colleague.post_form(f"/bulk/{change}/cancel")
        assert stopped.status_code == 303
        await take_over_jobs()
        await run_jobs()
        row = await change_row(tenant_a, change)
        assert row["status"] == "cancelled" and row["done"] == BATCH and row["total"] == 1100
        owned = [r for r in await contacts_tagged(tenant_a, "bjcancel") if r["owner_id"]]
        assert len(owned) == BATCH
        page = await colleague.get(f"/bulk/{change}")
        assert "Cancelled after 500 of 1,100. Assigned 500 contacts to" in page.text
        assert "Cancel</button>" not in page.text
        # cancelling an ended job changes nothing
        again = await colleague.post_form(f"/bulk/{change}/cancel")
        assert again.status_code == 303
        # what it did can be undone (by an admin too: the workspace owner here)
    undone = await client_a.post_form(f"/bulk/{change}/undo")
    assert undone.status_code == 303
    await run_jobs()
    assert not [r for r in await contacts_tagged(tenant_a, "bjcancel") if r["owner_id"]]


async def test_job_leases_name_the_workspace(client_a: Any, tenant_a: Account) -> None:
    """The job's lease row carries only ids (the data map's promise for job_runs)."""
    await insert_contacts(tenant_a, 250, "bjlease", "BjL")
    form = {"action": "delete", "scope": "view", "view_query": VIEW.format(tag="bjlease")}
    asked = await bulk(client_a, "contacts", form)
    assert "Delete 250 contacts?" in asked.text
    change = await confirmed(client_a, "contacts", form)
    async with global_transaction() as conn:
        args = await conn.fetchval(
            "select args::text from job_runs where key = $1",
            job_key(BULK_JOB, str(tenant_a.tenant_id), change),
        )
    assert json.loads(args) == [str(tenant_a.tenant_id), change]
    await run_jobs()
    assert await contacts_tagged(tenant_a, "bjlease") == []
    page = await client_a.get(f"/bulk/{change}")
    assert "Deleted 250 contacts." in page.text and "Undo</button>" not in page.text
    assert (await client_a.post_form(f"/bulk/{change}/undo")).status_code == 422
    assert (await client_a.get(f"/bulk/{uuid.uuid4()}")).status_code == 404


async def test_a_job_whose_new_owner_left_stops_with_the_reason(
    client_a: Any, tenant_a: Account, mailbox: Any
) -> None:
    from app.accounts import team
    from tests.deals.helpers import current_of

    member = await add_colleague(tenant_a, mailbox, "member")
    await insert_contacts(tenant_a, 700, "bjleft", "BjLeft")
    form = {
        "action": "owner",
        "owner_id": str(member.user_id),
        "scope": "view",
        "view_query": VIEW.format(tag="bjleft"),
    }
    change = await confirmed(client_a, "contacts", form)
    await run_bulk_change({}, str(tenant_a.tenant_id), change, stop_after_batches=1)
    await die_holding_the_lease(tenant_a, change)
    owner = await current_of(tenant_a)
    mine = [m for m in await team.list_members(owner) if m.user_id == member.user_id]
    await team.remove_member(owner, mine[0].membership_id)
    await take_over_jobs()
    await run_jobs()
    row = await change_row(tenant_a, change)
    assert row["status"] == "failed" and row["done"] == BATCH
    page = await client_a.get(f"/bulk/{change}")
    assert "Stopped: Choose an owner from your workspace." in page.text
    assert "Assigned 500 contacts to" in page.text and "Undo</button>" in page.text
