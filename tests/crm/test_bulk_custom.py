"""The bulk action "set a custom field" on the contact, company and deal lists: the value checked
by the custom-value validator (hostile values a 422), another workspace's field refused, required
fields not cleared, the version bump and timeline entry naming the label, the undo, roles, and a
job-sized selection."""

from __future__ import annotations

import re
import uuid
from typing import Any
from uuid import UUID

import msgspec

from app.core.db import tenant_transaction
from tests.crm.test_bulk import bulk, confirmed, timeline_of
from tests.crm.test_bulk_jobs import insert_contacts
from tests.crm.test_custom_fields import add_field
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import add_colleague, make_deal
from tests.helpers import Account, browser_client, run_jobs


async def values_of(
    account: Account, table: str, record_id: str | UUID
) -> tuple[dict[str, Any], int]:
    async with tenant_transaction(account.tenant_id, account.user_id) as conn:
        row = await conn.fetchrow(
            f"select custom_values::text as cv, version from {table} where id = $1",
            UUID(str(record_id)),
        )
    assert row is not None
    return msgspec.json.decode(row["cv"]), row["version"]


async def test_set_a_contact_field_undo_and_the_other_workspace(
    app: Any,
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
    mailbox: Any,
) -> None:
    tier = await add_field(client_a, tenant_a, "contact", "Tier", "select", options="Gold\nSilver")
    theirs_field = await add_field(client_b, tenant_b, "contact", "Tier B", "text")
    ours = [await make_contact(client_a, f"CfBulk{n}", "Person") for n in range(3)]
    theirs = await make_contact(client_b, "CfBulkB", "Other")
    form = {"action": "custom", "field_id": str(tier["id"]), "custom_value": "gold"}
    asked = await bulk(client_a, "contacts", {**form, "ids": [*ours, theirs]})
    assert asked.status_code == 200, asked.text[:1000]
    assert "Set Tier to “Gold” on 3 contacts?" in asked.text
    # the confirmation reposts the field and the value as typed
    assert f'name="field_id" value="{tier["id"]}"' in asked.text
    assert 'name="custom_value" value="gold"' in asked.text
    listed = await client_a.get("/contacts")
    assert '<option value="custom">Set a custom field</option>' in listed.text
    assert f'<option value="{tier["id"]}">Tier</option>' in listed.text
    assert str(theirs_field["id"]) not in listed.text
    change = await confirmed(client_a, "contacts", {**form, "ids": [*ours, theirs]})
    key = str(tier["id"])
    for contact_id in ours:
        values, version = await values_of(tenant_a, "contacts", contact_id)
        assert values[key] == "Gold" and version == 2
        assert "changed Tier" in await timeline_of(tenant_a, contact_id)
    values, version = await values_of(tenant_b, "contacts", theirs)
    assert values == {} and version == 1
    page = await client_a.get(f"/bulk/{change}")
    assert "Set Tier to “Gold” on 3 contacts." in page.text and "Undo" in page.text
    # the other workspace's field is not ours: refused, nothing changed
    foreign = {**form, "field_id": str(theirs_field["id"]), "custom_value": "x"}
    refused = await bulk(client_a, "contacts", {**foreign, "ids": ours, "confirmed": "1"})
    assert refused.status_code in (404, 422) and "custom field" in refused.text
    # a choice that isn't one is a 422 naming the choices
    bad = await bulk(client_a, "contacts", {**form, "custom_value": "Platinum", "ids": ours})
    assert bad.status_code == 422 and "is not a choice of Tier" in bad.text
    # a member may do it too; an edit since is kept by the undo
    member = await add_colleague(tenant_a, mailbox, "member")
    async with browser_client(app) as colleague:
        await colleague.login(member.email, member.password)
        cleared = await confirmed(colleague, "contacts", {**form, "clear": "1", "ids": ours})
        for contact_id in ours:
            assert (await values_of(tenant_a, "contacts", contact_id))[0] == {}
        async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
            await conn.execute(
                "update contacts set version = version + 1 where id = $1", UUID(ours[0])
            )
        undone = await colleague.post_form(f"/bulk/{cleared}/undo")
        assert undone.status_code == 303, undone.text[:800]
    assert (await values_of(tenant_a, "contacts", ours[0]))[0] == {}
    for contact_id in ours[1:]:
        values, version = await values_of(tenant_a, "contacts", contact_id)
        assert values[key] == "Gold" and version == 4
    # client_b can't see or undo the change
    assert (await client_b.post_form(f"/bulk/{change}/undo")).status_code == 404


async def test_company_and_deal_fields_required_and_hostile_values(
    client_a: Any, tenant_a: Account
) -> None:
    size = await add_field(client_a, tenant_a, "company", "Headcount", "number", required="1")
    company = await make_company(client_a, "CfBulk Co", **{"custom.headcount": "5"})
    form = {"action": "custom", "field_id": str(size["id"]), "ids": [company]}
    done = await confirmed(client_a, "companies", {**form, "custom_value": "12.5"})
    assert done
    values, version = await values_of(tenant_a, "companies", company)
    assert values[str(size["id"])] == "12.5" and version == 2
    # a required field can't be cleared
    cleared = await bulk(client_a, "companies", {**form, "clear": "1", "confirmed": "1"})
    assert cleared.status_code == 422 and "Headcount is required" in cleared.text
    for hostile in ("1\x002", "x" * 100_000, "ten", "١٢"):
        response = await bulk(client_a, "companies", {**form, "custom_value": hostile})
        assert response.status_code == 422, (hostile[:10], response.text[:500])
    empty = await bulk(client_a, "companies", {**form, "custom_value": ""})
    assert empty.status_code == 422 and "Clear it" in empty.text
    # deals: a money field, and its undo
    budget = await add_field(client_a, tenant_a, "deal", "Budget", "money")
    deal = await make_deal(tenant_a, "CfBulk deal")
    deal_form = {"action": "custom", "field_id": str(budget["id"]), "ids": [str(deal)]}
    bad_money = await bulk(client_a, "deals", {**deal_form, "custom_value": "12.50 XXQ"})
    assert bad_money.status_code == 422 and "currency" in bad_money.text
    change = await confirmed(client_a, "deals", {**deal_form, "custom_value": "12.5 eur"})
    values, version = await values_of(tenant_a, "deals", deal)
    assert values[str(budget["id"])] == {"amount": "12.50", "currency": "EUR"}
    assert "changed Budget" in await timeline_of(tenant_a, str(deal))
    undone = await client_a.post_form(f"/bulk/{change}/undo")
    assert undone.status_code == 303, undone.text[:800]
    values, after = await values_of(tenant_a, "deals", deal)
    assert values == {} and after == version + 1
    # a field of another kind is not this list's
    wrong = await bulk(
        client_a, "deals", {**deal_form, "field_id": str(size["id"]), "custom_value": "1"}
    )
    assert wrong.status_code == 422


async def test_a_job_sized_selection_sets_and_undoes(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    note = await add_field(client_a, tenant_a, "contact", "Region", "text")
    tag = "cfjob" + uuid.uuid4().hex[:4]
    ours = await insert_contacts(tenant_a, 250, tag, "CfJ")
    theirs = await insert_contacts(tenant_b, 3, tag, "CfJB")
    form = {
        "action": "custom",
        "field_id": str(note["id"]),
        "custom_value": "Nordics",
        "scope": "view",
        "view_query": f"tags_op=any&tags={tag}",
    }
    asked = await bulk(client_a, "contacts", form)
    assert asked.status_code == 200 and "on 250 contacts?" in asked.text, asked.text[:800]
    assert "runs in the background" in asked.text
    change = await confirmed(client_a, "contacts", form)
    await run_jobs()
    key = str(note["id"])
    for contact_id in ours[:5] + ours[-5:]:
        values, version = await values_of(tenant_a, "contacts", contact_id)
        assert values[key] == "Nordics" and version == 2
    for contact_id in theirs:
        assert (await values_of(tenant_b, "contacts", contact_id))[0] == {}
    page = await client_a.get(f"/bulk/{change}")
    assert "Set Region to “Nordics” on 250 contacts." in page.text
    undone = await client_a.post_form(f"/bulk/{change}/undo")
    assert undone.status_code == 303, undone.text[:800]
    await run_jobs()
    for contact_id in ours[:5]:
        values, version = await values_of(tenant_a, "contacts", contact_id)
        assert values == {} and version == 3


async def test_the_deals_table_shows_chosen_custom_columns(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await add_field(client_a, tenant_a, "deal", "Region", "text")
    await add_field(client_b, tenant_b, "deal", "Secret", "text")
    await make_deal(tenant_a, "CfCol deal", **{"custom.region": "Nordics"})
    table = await client_a.get("/deals/list", params={"cols": "region"})
    assert table.status_code == 200, table.text[:800]
    header = re.search(r'<th data-custom="region">(.*?)</th>', table.text, re.S)
    assert header is not None and "Region" in header[1]  # its header (a sort link)
    assert "<td>Nordics</td>" in table.text
    assert 'name="cols" value="region"' in table.text  # the column chooser offers it
    plain = await client_a.get("/deals/list")
    assert 'data-custom="region"' not in plain.text
    # another workspace's field is no column here
    refused = await client_a.get("/deals/list", params={"cols": "secret"})
    assert refused.status_code == 422
