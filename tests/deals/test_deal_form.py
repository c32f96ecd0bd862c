"""The deal form as its edit page shows it (read in one transaction, app/deals/routes.py): the
stored values and version, the stage picker grouped by pipeline, the company and contacts as
chosen, the currency options (kept per process); another workspace's deal is a 404."""

from __future__ import annotations

import re
from typing import Any

from app.core import templating
from app.core.forms import parse
from app.crm import companies
from app.crm.schemas import CompanyEdit, CompanyForm
from app.deals import pipelines, services
from app.deals.schemas import DealEdit
from tests.crm.test_records import make_contact
from tests.deals.helpers import current_of, make_deal, stages
from tests.helpers import Account


def _select(page: str, name: str) -> str:
    return page.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]


def _chosen(page: str, name: str) -> list[str]:
    """The values kept in a picker's hidden inputs (its chosen records)."""
    part = page.split(f'data-name="{name}"', 1)[1].split('class="mb-3', 1)[0]
    return re.findall(rf'name="{name}" value="([^"]+)"', part)


async def test_the_edit_form_shows_the_deal_as_stored(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    current = await current_of(tenant_a)
    company = await companies.create_company(current, parse(CompanyForm, {"name": "Acme"}))
    contact = await make_contact(client_a, "Pat", "Buyer")
    second = await pipelines.create_pipeline(current, "Renewals")
    deal = await make_deal(tenant_a, "Stored deal", "Proposal", company_id=company, currency="USD")
    edit = {
        "title": "Stored deal",
        "amount": "1000",
        "currency": "USD",
        "stage_id": str((await stages(tenant_a))["Proposal"].id),
        "company_id": str(company),
        "contact_ids": contact,
        "version": "1",
    }
    await services.update_deal(current, deal, parse(DealEdit, edit))
    page = (await client_a.get(f"/deals/{deal}/edit")).text
    assert 'name="version" value="2"' in page
    # the stages under their pipelines, the deal's chosen
    stage_picker = _select(page, "stage_id")
    assert stage_picker.count("<optgroup") == 2
    sales, renewals = stage_picker.split('<optgroup label="Renewals">')
    assert '<optgroup label="Sales">' in sales and sales.count("<option") == 6
    assert renewals.count("<option") == 6 and str(second) not in renewals
    proposal = (await stages(tenant_a))["Proposal"].id
    assert f'<option value="{proposal}" selected>Proposal</option>' in sales
    assert stage_picker.count(" selected") == 1
    # the currency, the company and the contacts as chosen
    assert '<option value="USD" selected>' in _select(page, "currency")
    assert _select(page, "currency").count(" selected") == 1
    assert _chosen(page, "company_id") == [str(company)] and "Acme" in page
    assert _chosen(page, "contact_ids") == [contact] and "Pat Buyer" in page
    # a change of the company's name shows at once (nothing of it is kept)
    renamed = parse(CompanyEdit, {"name": "Acme Worldwide", "version": "1"})
    await companies.update_company(current, company, renamed)
    assert "Acme Worldwide" in (await client_a.get(f"/deals/{deal}/edit")).text
    # another workspace's deal
    assert (await client_b.get(f"/deals/{deal}/edit")).status_code == 404


async def test_the_currency_options_are_kept_per_currency(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    euro = await make_deal(tenant_a, "Euro deal")
    pound = await make_deal(tenant_a, "Pound deal", currency="GBP")
    first = _select((await client_a.get(f"/deals/{euro}/edit")).text, "currency")
    second = _select((await client_a.get(f"/deals/{pound}/edit")).text, "currency")
    assert '<option value="EUR" selected>' in first and 'value="GBP" selected' not in first
    assert '<option value="GBP" selected>' in second and 'value="EUR" selected' not in second
    assert first.count("<option") == second.count("<option") > 100
    again = _select((await client_a.get(f"/deals/{euro}/edit")).text, "currency")
    assert again == first
    # a refused form's input that is offered nowhere picks no option and is never kept (the
    # pickers' markup is kept per choice offered, not per input)
    refused = await client_a.post_form(
        f"/deals/{euro}",
        {"title": "Euro deal", "amount": "1", "currency": "NOPE", "version": "1"}
        | {"stage_id": "no-stage", "owner_id": "nobody"},
        htmx=True,
    )
    assert refused.status_code == 422 and "Choose a currency" in refused.text
    assert " selected" not in _select(refused.text, "currency")
    assert " selected" not in _select(refused.text, "stage_id")
    kept = repr(list(templating._fragments))
    assert "NOPE" not in kept and "no-stage" not in kept and "nobody" not in kept
