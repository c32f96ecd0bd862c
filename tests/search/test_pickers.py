"""Server-searched pickers: no first-N cap, so saving a form never drops a link to a record
past it; the picker finds any record of the workspace and none of another's."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.core.db import tenant_transaction
from tests.crm.test_activities import activity_ids, call_form
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import make_deal
from tests.helpers import Account, set_plan
from tests.invoices.test_invoices import make_invoice
from tests.search.forms import form_fields
from tests.search.test_search_scale import seed_contacts


async def seed_companies(account: Account, count: int, prefix: str) -> list[UUID]:
    """`count` companies named "<prefix> 0001"… in the account's workspace, in name order."""
    async with tenant_transaction(account.tenant_id) as conn:
        rows = await conn.fetch(
            "insert into companies (id, tenant_id, name)"
            " select gen_random_uuid(), $1, $2 || ' ' || lpad(g::text, 4, '0')"
            " from generate_series(1, $3) g returning id, name",
            account.tenant_id,
            prefix,
            count,
        )
    return [r["id"] for r in sorted(rows, key=lambda r: r["name"])]


def as_data(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


async def save_as_shown(client: Any, page: str, action: str) -> Any:
    """Post the form on `page` exactly as the browser shows it."""
    html = (await client.get(page)).text
    fields = form_fields(html, action)
    assert fields, f"no form posting to {action} on {page}"
    return await client.post_form(action, as_data(fields)), dict(fields)  # type: ignore[arg-type]


async def test_saving_keeps_a_link_past_the_old_cap(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await set_plan(tenant_a, "pro")  # the Free plan holds 500 records
    firms = await seed_companies(tenant_a, 600, "Firm")
    await seed_companies(tenant_b, 3, "Firm")
    last = firms[599]  # the 600th by name: past the old 500-record select
    contact = await make_contact(client_a, "Linked", "Late", company_id=str(last))

    edit = await client_a.get(f"/contacts/{contact}/edit")
    assert "Firm 0600" in edit.text and "data-picker" in edit.text
    (saved, shown) = await save_as_shown(
        client_a, f"/contacts/{contact}/edit", f"/contacts/{contact}/edit"
    )
    assert saved.status_code == 303, saved.text[:500]
    assert shown["company_id"] == str(last) and "q" not in shown  # the search box is not sent
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        kept = await conn.fetchval("select company_id from contacts where id = $1", UUID(contact))
    assert kept == last

    # a deal with the 600th company and a contact, and an invoice on both, keep them too
    deal = await make_deal(tenant_a, "Late deal", company_id=last, contact_ids=contact)
    (saved, shown) = await save_as_shown(client_a, f"/deals/{deal}/edit", f"/deals/{deal}")
    assert saved.status_code in (200, 303), saved.text[:500]
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select company_id from deals where id = $1", deal) == last
        links = await conn.fetch("select contact_id from deal_contacts where deal_id = $1", deal)
    assert [r["contact_id"] for r in links] == [UUID(contact)]

    invoice = await make_invoice(client_a, str(last), ("Work", "1", "10", "0"))
    page = await client_a.get(f"/invoices/{invoice}/edit")
    assert "Firm 0600" in page.text


async def test_picker_searches_the_workspace_only(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await seed_companies(tenant_a, 30, "Alpha")
    await seed_companies(tenant_b, 30, "Alpha")
    ids_b = await seed_companies(tenant_b, 1, "Zulu")
    htmx = {"HX-Request": "true"}
    found = await client_a.get("/search/pick/companies", params={"q": "alpha 0027"}, headers=htmx)
    assert found.status_code == 200 and "<html" not in found.text
    assert found.text.count('role="option"') == 1 and "Alpha 0027" in found.text
    first = await client_a.get("/search/pick/companies", params={"q": ""}, headers=htmx)
    assert first.text.count('role="option"') == 20  # the first by name, no more at a time
    none = await client_a.get("/search/pick/companies", params={"q": "zulu"}, headers=htmx)
    assert str(ids_b[0]) not in none.text and "Nothing matches" in none.text
    await make_contact(client_a, "Pia", "Picker", emails="pia@example.org")
    by_email = await client_a.get("/search/pick/contacts", params={"q": "PIA@example.org"})
    assert "Pia Picker" in by_email.text and "<html" in by_email.text  # opened directly: a page


async def test_activity_participants_past_the_old_cap_are_kept(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """The activity form's participant picker shows the chosen contacts by id: editing keeps
    a participant the old first-500 list would not have held, and a refused form keeps them."""
    await set_plan(tenant_a, "pro")
    await seed_contacts(tenant_a, 600)  # last names of hex digits: all before "Zimmerman"
    company = await make_company(client_a, "Initech")
    zed = await make_contact(client_a, "Zed", "Zimmerman")  # last by name: past 500
    refused = await client_a.post_form(
        f"/records/company/{company}/tasks", {**call_form(), "participant_ids": zed, "kind": "x"}
    )
    assert refused.status_code == 422 and "Zed Zimmerman" in refused.text
    made = await client_a.post_form(
        f"/records/company/{company}/tasks", {**call_form(), "participant_ids": zed}
    )
    assert made.status_code == 303
    [activity] = await activity_ids(client_a, f"/companies/{company}")
    edit = f"/tasks/{activity}/edit"
    (saved, shown) = await save_as_shown(client_a, edit, edit)
    assert saved.status_code == 303, saved.text[:500]
    assert shown["participant_ids"] == zed
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        kept = await conn.fetchval(
            "select participant_ids from tasks where id = $1", UUID(activity)
        )
    assert kept == [UUID(zed)]
