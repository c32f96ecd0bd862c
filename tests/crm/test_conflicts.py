"""No lost updates: two people editing one record from the same version end with one saved and
the other shown the conflict (what is saved now beside their kept input); deletes of a record
changed since the confirmation ask again. Over HTTP for contacts, at service level for every
other versioned record (companies, deals, invoices, pipelines, stages)."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest

from app.accounts.schemas import Current
from app.core.errors import EditConflict
from app.core.forms import parse
from app.crm import companies, contacts
from app.crm.schemas import CompanyEdit, CompanyForm, ContactEdit, ContactForm
from app.deals import pipelines, services
from app.deals.schemas import DealEdit
from app.invoices import services as invoices
from app.invoices.schemas import InvoiceEdit, InvoiceForm
from tests.crm.test_records import make_contact
from tests.deals.helpers import add_colleague, current_of, make_deal, stages
from tests.helpers import Account, Mailbox, browser_client, version_on

FIELD_VALUE = r'name="{}"[^>]*value="([^"]*)"'


def _value(page: str, name: str) -> str:
    match = re.search(FIELD_VALUE.format(name), page)
    assert match, name
    return html.unescape(match.group(1))


async def test_two_people_edit_one_contact_one_saves_the_other_sees_the_conflict(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, mailbox: Mailbox
) -> None:
    contact = await make_contact(client_a, "Ann", "Lee", title="Buyer")
    colleague = await add_colleague(tenant_a, mailbox)
    async with browser_client(app) as other:
        await other.login(colleague.email, colleague.password)
        # both open the edit form at version 1
        mine = await client_a.get(f"/contacts/{contact}/edit")
        theirs = await other.get(f"/contacts/{contact}/edit")
        assert _value(mine.text, "version") == _value(theirs.text, "version") == "1"
        # the colleague changes the title and saves first
        saved = await other.post_form(
            f"/contacts/{contact}/edit",
            {"first_name": "Ann", "last_name": "Lee", "title": "Head of buying", "version": "1"},
        )
        assert saved.status_code == 303
    # the owner, from the stale form, changes the first name
    stale = {"first_name": "Anne", "last_name": "Lee", "title": "Buyer", "version": "1"}
    for htmx in (True, False):
        refused = await client_a.post_form(f"/contacts/{contact}/edit", stale, htmx=htmx)
        assert refused.status_code == 409
        text = html.unescape(refused.text)
        assert f"{colleague.name} saved this contact while you were editing it" in text
        assert "Saved meanwhile as “Head of buying”" in text  # theirs, beside the title field
        assert _value(refused.text, "first_name") == "Anne"  # my input is kept
        assert _value(refused.text, "title") == "Buyer"
        assert _value(refused.text, "version") == "2"  # saving again applies mine knowingly
        if htmx:
            assert "<html" not in refused.text  # the form fragment, swapped in place
    page = html.unescape((await client_a.get(f"/contacts/{contact}")).text)
    assert "Head of buying" in page and "Anne" not in page  # nothing was overwritten
    # re-applying my input (now from version 2, the title taken over) saves it
    stale |= {"title": "Head of buying", "version": "2"}
    assert (await client_a.post_form(f"/contacts/{contact}/edit", stale)).status_code == 303
    page = html.unescape((await client_a.get(f"/contacts/{contact}")).text)
    assert "Anne" in page and "Head of buying" in page


async def test_delete_of_a_contact_changed_since_the_confirmation_asks_again(
    client_a: Any, client_b: Any, tenant_a: Account
) -> None:
    contact = await make_contact(client_a, "Bob", "Stone")
    version = await version_on(client_a, f"/contacts/{contact}/delete")
    edit = {"first_name": "Robert", "last_name": "Stone", "version": version}
    assert (await client_a.post_form(f"/contacts/{contact}/edit", edit)).status_code == 303
    again = await client_a.post_form(f"/contacts/{contact}/delete", {"version": version})
    assert again.status_code == 409
    text = html.unescape(again.text)
    assert "changed this contact after you opened this page" in text
    assert "Yes, delete Robert Stone" in text  # the confirmation, with what it is now
    assert (await client_a.get(f"/contacts/{contact}")).status_code == 200  # still there
    newer = _value(again.text, "version")
    assert newer == str(int(version) + 1)
    assert (
        await client_b.post_form(f"/contacts/{contact}/delete", {"version": newer})
    ).status_code == 404
    gone = await client_a.post_form(f"/contacts/{contact}/delete", {"version": newer})
    assert gone.status_code == 303
    assert (await client_a.get(f"/contacts/{contact}")).status_code == 404


async def _stale(action: Any) -> EditConflict:
    with pytest.raises(EditConflict) as caught:
        await action
    return caught.value


async def test_companies_refuse_stale_edits_and_deletes(tenant_a: Account) -> None:
    owner = await current_of(tenant_a)
    company = await companies.create_company(owner, CompanyForm(name="Initech", industry="IT"))
    first = parse(CompanyEdit, {"name": "Initech", "industry": "Software", "version": "1"})
    await companies.update_company(owner, company, first)
    second = parse(CompanyEdit, {"name": "Initrode", "industry": "IT", "version": "1"})
    conflict = await _stale(companies.update_company(owner, company, second))
    assert conflict.status == 409 and conflict.version == 2
    assert conflict.theirs == {"name": "Initech", "industry": "Software"}
    assert conflict.errors["industry"] == "Saved meanwhile as “Software”."
    assert (await companies.get_company(owner, company))["name"] == "Initech"
    await _stale(companies.delete_company(owner, company, 1))
    assert await companies.delete_company(owner, company, 2) == "Initech"


async def test_contacts_refuse_stale_edits_at_service_level(tenant_a: Account) -> None:
    owner = await current_of(tenant_a)
    contact = await contacts.create_contact(owner, ContactForm(first_name="X"))
    ok = parse(ContactEdit, {"first_name": "Y", "version": "1"})
    await contacts.update_contact(owner, contact, ok)
    conflict = await _stale(contacts.update_contact(owner, contact, ok))
    assert conflict.theirs == {} and conflict.version == 2  # same input: nothing differs
    await _stale(contacts.delete_contact(owner, contact, 1))


async def test_deals_refuse_stale_edits_and_deletes(tenant_a: Account, tenant_b: Account) -> None:
    owner = await current_of(tenant_a)
    deal = await make_deal(tenant_a, "Rockets", amount="100")
    lead = (await stages(tenant_a))["Lead"]
    edit = {"title": "Rockets", "amount": "250", "stage_id": str(lead.id), "version": "1"}
    await services.update_deal(owner, deal, parse(DealEdit, edit))
    conflict = await _stale(
        services.update_deal(owner, deal, parse(DealEdit, edit | {"amount": "300"}))
    )
    assert conflict.theirs == {"amount": "250.00"} and conflict.version == 2
    await _stale(services.delete_deal(owner, deal, 1))
    assert await services.delete_deal(owner, deal, 2) == "Rockets"


async def test_invoices_refuse_stale_edits_and_status_changes(tenant_a: Account) -> None:
    owner = await current_of(tenant_a)
    company = await companies.create_company(owner, CompanyForm(name="Globex"))
    values = {
        "company_id": str(company),
        "due_date": "2100-01-01",
        "line-0-description": "Work",
        "line-0-unit_price": "10",
    }
    invoice = await invoices.create_invoice(owner, parse(InvoiceForm, values))
    await invoices.update_invoice(
        owner, invoice, parse(InvoiceEdit, values | {"notes": "Thanks", "version": "1"})
    )
    conflict = await _stale(
        invoices.update_invoice(
            owner, invoice, parse(InvoiceEdit, values | {"line-0-unit_price": "20", "version": "1"})
        )
    )
    assert conflict.version == 2
    assert conflict.theirs == {"notes": "Thanks", "lines": "total 10.00"}
    await _stale(invoices.change_status(owner, invoice, "sent", 1))
    assert await invoices.change_status(owner, invoice, "sent", 2) == "INV-00001"


async def test_pipelines_and_stages_refuse_stale_edits_and_deletes(tenant_a: Account) -> None:
    owner: Current = await current_of(tenant_a)
    pipeline = await pipelines.create_pipeline(owner, "Renewals")
    await pipelines.rename_pipeline(owner, pipeline, "Renewals 2027", 1)
    conflict = await _stale(pipelines.rename_pipeline(owner, pipeline, "Upsell", 1))
    assert conflict.theirs == {"name": "Renewals 2027"} and conflict.version == 2
    await _stale(pipelines.delete_pipeline(owner, pipeline, 1))
    stage = (await pipelines.stages_of(owner, pipeline))[0]
    await pipelines.update_stage(owner, stage.id, "Inbound", "open", 1)
    stale_stage = await _stale(pipelines.update_stage(owner, stage.id, "Outbound", "won", 1))
    assert stale_stage.theirs == {"name": "Inbound", "kind": "open"}
    await _stale(pipelines.delete_stage(owner, stage.id, 1))
    await pipelines.delete_stage(owner, stage.id, 2)
    await pipelines.delete_pipeline(owner, pipeline, 2)
    assert uuid.UUID(str(pipeline)) not in {p.id for p in await pipelines.list_pipelines(owner)}
