"""Bulk actions on the contact and company lists: the confirmation names the count, the
ticked rows or the whole view change through the single-edit steps (version bump, timeline
entry), another workspace's ids are left out, roles, hostile input (422, never 500), the undo
(refused for records edited since, and after it was used)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from app.core.db import tenant_transaction
from app.crm.tables import Activity, BulkChange, Contact
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import add_colleague
from tests.helpers import Account, browser_client

CHANGE_URL = re.compile(r"/bulk/([0-9a-f-]{36})$")


async def bulk(client: Any, plural: str, data: dict[str, Any]) -> Any:
    return await client.post_form(f"/{plural}/bulk", data)


async def confirmed(client: Any, plural: str, data: dict[str, Any]) -> str:
    """Confirm a bulk action; the id of the bulk change it made."""
    response = await bulk(client, plural, {**data, "confirmed": "1"})
    assert response.status_code == 303, response.text[:1500]
    match = CHANGE_URL.search(response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def contact_row(account: Account, contact_id: str) -> dict[str, Any]:
    async with tenant_transaction(account.tenant_id, account.user_id):
        row = await Contact.select().where(Contact.id == uuid.UUID(contact_id)).first()
    assert row is not None
    return row


async def timeline_of(account: Account, record_id: str) -> list[str]:
    async with tenant_transaction(account.tenant_id, account.user_id):
        rows = await Activity.select(Activity.summary).where(
            Activity.subject_id == uuid.UUID(record_id)
        )
    return [r["summary"] for r in rows]


async def test_tag_owner_and_undo_leave_the_other_workspace_alone(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    ours = [await make_contact(client_a, f"BkAda{n}", "Person", tags="eu") for n in range(3)]
    theirs = await make_contact(client_b, "BkXan", "Other", tags="eu")
    # the confirmation names the count; the other workspace's id is not counted
    asked = await bulk(
        client_a, "contacts", {"action": "add_tag", "tag": "vip", "ids": [*ours, theirs]}
    )
    assert asked.status_code == 200, asked.text[:1000]
    assert "Add the tag “vip” to 3 contacts?" in asked.text
    assert theirs not in asked.text
    change = await confirmed(
        client_a, "contacts", {"action": "add_tag", "tag": "vip", "ids": [*ours, theirs]}
    )
    for contact_id in ours:
        row = await contact_row(tenant_a, contact_id)
        assert row["tags"] == ["eu", "vip"] and row["version"] == 2
        assert "changed tags" in await timeline_of(tenant_a, contact_id)
    other = await contact_row(tenant_b, theirs)
    assert other["tags"] == ["eu"] and other["version"] == 1
    page = await client_a.get(f"/bulk/{change}")
    assert page.status_code == 200 and "Tagged 3 contacts “vip”" in page.text
    assert "Undo" in page.text
    # the other workspace cannot see or undo it
    assert (await client_b.get(f"/bulk/{change}")).status_code == 404
    assert (await client_b.post_form(f"/bulk/{change}/undo")).status_code == 404
    # a member may bulk-assign; one record edited since keeps its edit on undo
    member = await add_colleague(tenant_a, mailbox, "member")
    async with browser_client(app) as colleague:
        await colleague.login(member.email, member.password)
        owned = await confirmed(
            colleague, "contacts", {"action": "owner", "owner_id": str(member.user_id), "ids": ours}
        )
        for contact_id in ours:
            assert (await contact_row(tenant_a, contact_id))["owner_id"] == member.user_id
        # someone edits ours[0] after the bulk change
        edited = await client_a.post_form(
            f"/contacts/{ours[0]}/edit",
            {
                "first_name": "BkEdited",
                "last_name": "Person",
                "tags": "eu, vip",
                "owner_id": str(member.user_id),
                "version": "3",
            },
        )
        assert edited.status_code == 303, edited.text[:1000]
        # the tenant owner (an admin) may not be refused; the member undoes their own
        undone = await colleague.post_form(f"/bulk/{owned}/undo")
        assert undone.status_code == 303, undone.text[:1000]
    assert (await contact_row(tenant_a, ours[0]))["owner_id"] == member.user_id  # kept edit
    for contact_id in ours[1:]:
        row = await contact_row(tenant_a, contact_id)
        assert row["owner_id"] is None and row["version"] == 4  # as before
    # undone once: not again
    again = await client_a.post_form(f"/bulk/{owned}/undo")
    assert again.status_code == 422
    # the tag change's undo restores the tags on the records not edited since
    assert (await client_a.post_form(f"/bulk/{change}/undo")).status_code == 303
    assert (await contact_row(tenant_a, ours[1]))["tags"] == ["eu", "vip"]  # edited since (owner)
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id):
        assert await BulkChange.count() == 2
    async with tenant_transaction(tenant_b.tenant_id, tenant_b.user_id):
        assert await BulkChange.count() == 0


async def test_remove_tag_and_its_undo(client_a: Any, tenant_a: Account) -> None:
    ids = [await make_contact(client_a, f"BkTag{n}", "Person", tags="eu, old") for n in range(2)]
    change = await confirmed(
        client_a, "contacts", {"action": "remove_tag", "tag": "OLD", "ids": ids}
    )
    assert [(await contact_row(tenant_a, i))["tags"] for i in ids] == [["eu"], ["eu"]]
    assert (await client_a.post_form(f"/bulk/{change}/undo")).status_code == 303
    for contact_id in ids:
        row = await contact_row(tenant_a, contact_id)
        assert row["tags"] == ["eu", "old"] and row["version"] == 3


async def test_all_in_the_view_and_delete(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    keep = await make_contact(client_a, "BkKeep", "Person", tags="stay")
    gone = [await make_contact(client_a, f"BkGone{n}", "Person", tags="drop") for n in range(4)]
    theirs = await make_contact(client_b, "BkGoneTheirs", "Person", tags="drop")
    view = {"action": "delete", "scope": "view", "view_query": "tags_op=any&tags=drop&sort=name"}
    asked = await bulk(client_a, "contacts", view)
    assert asked.status_code == 200, asked.text[:1000]
    assert "Delete 4 contacts?" in asked.text
    change = await confirmed(client_a, "contacts", {"action": "delete", "ids": gone})
    for contact_id in gone:
        assert (await client_a.get(f"/contacts/{contact_id}")).status_code == 404
        assert any("deleted the contact" in s for s in await timeline_of(tenant_a, contact_id))
    assert (await client_a.get(f"/contacts/{keep}")).status_code == 200
    assert (await client_b.get(f"/contacts/{theirs}")).status_code == 200
    done = await client_a.get(f"/bulk/{change}")
    assert "Deleted 4 contacts." in done.text and "Undo" not in done.text
    assert (await client_a.post_form(f"/bulk/{change}/undo")).status_code == 422
    # a company with invoices is not deleted in bulk either; others are
    companies = [await make_company(client_a, f"BkCo{n}") for n in range(2)]
    asked = await bulk(client_a, "companies", {"action": "delete", "ids": companies})
    assert "Delete 2 companies?" in asked.text
    await confirmed(client_a, "companies", {"action": "delete", "ids": companies})
    assert (await client_a.get(f"/companies/{companies[0]}")).status_code == 404


async def test_hostile_bulk_input_is_refused_not_a_server_error(
    client_a: Any, client_b: Any
) -> None:
    theirs = await make_contact(client_b, "BkOnlyTheirs", "Person")
    cases: list[dict[str, Any]] = [
        {"action": "delete", "ids": ["not-a-uuid"]},
        {"action": "delete", "ids": ["\x00"]},
        {"action": "explode", "ids": [theirs]},
        {"action": "delete", "ids": [str(uuid.uuid4()) for _ in range(5000)]},
        {"action": "add_tag", "tag": "a" * 500, "ids": [theirs]},
        {"action": "add_tag", "ids": [theirs]},
        {"action": "delete"},
        {"action": "delete", "scope": "view", "view_query": "nope=1"},
        {"action": "delete", "scope": "view", "view_query": "owner=\x00&created_after=x"},
        {"action": "owner", "owner_id": "zzz", "ids": [theirs]},
        {"action": "delete", "ids": [theirs]},  # only the other workspace's: nothing to do
    ]
    for data in cases:
        response = await bulk(client_a, "contacts", data)
        assert response.status_code == 422, (data.get("action"), response.status_code)
    # the other workspace's member as owner is refused
    mine = await make_contact(client_a, "BkMine", "Person")
    refused = await bulk(
        client_a, "contacts", {"action": "owner", "owner_id": theirs, "ids": [mine]}
    )
    assert refused.status_code == 422
    assert (await client_b.get(f"/contacts/{theirs}")).status_code == 200
    assert (await client_a.get(f"/bulk/{uuid.uuid4()}")).status_code == 404


async def test_undo_roles_and_its_time_limit(
    app: Any, client_a: Any, tenant_a: Account, mailbox: Any
) -> None:
    ids = [await make_contact(client_a, f"BkRole{n}", "Person") for n in range(2)]
    change = await confirmed(client_a, "contacts", {"action": "add_tag", "tag": "t", "ids": ids})
    member = await add_colleague(tenant_a, mailbox, "member")
    async with browser_client(app) as colleague:
        await colleague.login(member.email, member.password)
        # a member sees it but may not undo the owner's change
        seen = await colleague.get(f"/bulk/{change}")
        assert seen.status_code == 200 and "Undo</button>" not in seen.text
        refused = await colleague.post_form(f"/bulk/{change}/undo")
        assert refused.status_code == 422 and "Only the member who made" in refused.text
        # a member may bulk-delete; a delete has no undo
        mine = await confirmed(colleague, "contacts", {"action": "delete", "ids": ids[:1]})
        assert (await colleague.post_form(f"/bulk/{mine}/undo")).status_code == 422
    assert (await contact_row(tenant_a, ids[1]))["tags"] == ["t"]
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
        await conn.execute(
            "update bulk_changes set created_at = now() - interval '11 minutes' where id = $1",
            uuid.UUID(change),
        )
    late = await client_a.post_form(f"/bulk/{change}/undo")
    assert late.status_code == 422 and "can no longer be undone" in late.text
    assert (await contact_row(tenant_a, ids[1]))["tags"] == ["t"]
