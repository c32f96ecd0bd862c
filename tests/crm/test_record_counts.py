"""Record counts (`record_counts`, kept by statement triggers): exact after creates, edits,
deletes, bulk deletes, an import, a merge, an erasure and a workspace's purge, in two
workspaces; the dashboard and the unfiltered lists show them, a filtered view is counted."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from app.core.db import global_transaction, tenant_transaction
from app.crm.list_queries import record_counts
from app.privacy import deletion
from app.privacy.erasure import erase_contact
from tests.crm.test_bulk import confirmed
from tests.crm.test_duplicates_merge import CSV, MAPPING
from tests.crm.test_import import import_id_of, upload
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import current_of
from tests.helpers import Account, run_jobs, version_on


async def counted(account: Account) -> dict[str, int]:
    """The workspace's records counted row by row (what the kept counts must equal)."""
    async with tenant_transaction(account.tenant_id) as conn:
        return {
            "contact": await conn.fetchval("select count(*) from contacts"),
            "company": await conn.fetchval("select count(*) from companies"),
        }


async def kept(account: Account) -> dict[str, int]:
    async with tenant_transaction(account.tenant_id) as conn:
        return await record_counts(conn, account.tenant_id)


async def assert_exact(*accounts: Account) -> dict[str, int]:
    for account in accounts:
        assert await kept(account) == await counted(account), account.email
    return await kept(accounts[0])


def view_count(html: str) -> int:
    match = re.search(r'id="view-count">([\d,]+)', html)
    assert match, html[:2000]
    return int(match.group(1).replace(",", ""))


async def test_counts_follow_creates_deletes_bulk_merge_and_erasure(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    base = await assert_exact(tenant_a, tenant_b)
    companies = [await make_company(client_a, f"RcCo{n}") for n in range(3)]
    contacts = [await make_contact(client_a, f"RcAda{n}", "Counted") for n in range(6)]
    await make_contact(client_b, "RcTheirs", "Counted")
    now = await assert_exact(tenant_a, tenant_b)
    assert now == {"contact": base["contact"] + 6, "company": base["company"] + 3}

    # set-based statements: one insert and one delete of many rows, and an edit (no change)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name)"
            " select gen_random_uuid(), $1, 'RcBulk' || g, 'Counted'"
            " from generate_series(1, 250) g",
            tenant_a.tenant_id,
        )
        await conn.execute("update contacts set title = 'x' where first_name like 'RcBulk%'")
        await conn.execute("delete from contacts where first_name like 'RcBulk1%'")
    await assert_exact(tenant_a, tenant_b)

    # one delete through its page, a bulk delete of two, a merge, an erasure
    version = await version_on(client_a, f"/contacts/{contacts[0]}/delete")
    gone = await client_a.post_form(f"/contacts/{contacts[0]}/delete", {"version": version})
    assert gone.status_code == 303
    await confirmed(client_a, "contacts", {"action": "delete", "ids": contacts[1:3]})
    await confirmed(client_a, "companies", {"action": "delete", "ids": companies[:1]})
    form = {"other_id": contacts[4], "version": "1", "other_version": "1", "last_name": "other"}
    merged = await client_a.post_form(f"/contacts/{contacts[3]}/merge", form)
    assert merged.status_code in (200, 303), merged.text[:800]
    await erase_contact(await current_of(tenant_a), UUID(contacts[5]))
    after = await assert_exact(tenant_a, tenant_b)
    assert after["contact"] == now["contact"] + 250 - 111 - 5
    assert after["company"] == now["company"] - 1

    # the dashboard and the unfiltered lists show the kept counts; a view is counted
    dashboard = await client_a.get("/app")
    assert dashboard.status_code == 200
    listed = await client_a.get("/contacts")
    assert view_count(listed.text) == after["contact"]
    assert view_count((await client_a.get("/companies")).text) == after["company"]
    searched = await client_a.get("/contacts", params={"q": "RcBulk2"})
    assert view_count(searched.text) == 62  # RcBulk2, RcBulk20…29, RcBulk200…250
    assert (
        view_count((await client_b.get("/contacts")).text) == (await counted(tenant_b))["contact"]
    )


async def test_counts_follow_an_import(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await make_contact(client_b, "RcImportTheirs", "Counted")
    for on_duplicate in ("create", "update"):
        import_id = import_id_of(await upload(client_a, CSV))
        form = {**MAPPING, "on_duplicate": on_duplicate}
        started = await client_a.post_form(f"/imports/{import_id}/run", form)
        assert started.status_code == 303, started.text[:500]
        await run_jobs()
        await assert_exact(tenant_a, tenant_b)
    assert (await kept(tenant_a))["contact"] >= 4


async def test_a_purged_workspace_leaves_no_count_and_the_other_keeps_its(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, owner_conn: Any
) -> None:
    for n in range(3):
        await make_contact(client_a, f"RcPurge{n}", "Counted")
        await make_company(client_a, f"RcPurgeCo{n}")
    await make_contact(client_b, "RcStays", "Counted")
    before_b = await assert_exact(tenant_b, tenant_a)
    request_id = await deletion.request_deletion(
        await current_of(tenant_a), "workspace", tenant_a.password
    )
    async with global_transaction() as conn:
        await conn.execute(
            "update deletion_requests set due_at = now() - interval '1 second' where id = $1",
            request_id,
        )
    assert await deletion.purge_deletion(None, str(request_id)) == "completed"
    # as the owner with RLS on: the purged workspace's rows are gone, none was re-inserted
    await owner_conn.execute(
        "select set_config('app.tenant_id', $1, false)", str(tenant_a.tenant_id)
    )
    left = await owner_conn.fetchval("select count(*) from record_counts")
    await owner_conn.execute("select set_config('app.tenant_id', '', false)")
    assert left == 0
    assert await assert_exact(tenant_b) == before_b
