"""The deal edit form kept per process (app/deals/edit_form.py): reused while nothing it shows
changed, read and rendered again after any change of what it shows. Each change below is made
alone (through the app's services, or one SQL statement as the app role), so each test fails if
that one source stopped changing the form's key; the CSRF token is each session's own, another
workspace's deal is a 404, kept or not."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.core.db import tenant_transaction
from app.core.forms import parse
from app.core.kept import CSRF_MARK
from app.deals import edit_form, pipelines, reading, services
from app.deals.schemas import DealEdit
from tests.crm.test_notes_tasks import add_colleague
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import current_of, make_deal, stages
from tests.helpers import Account, Counts, app_sql, browser_client, count_calls


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """How often the edit form read its deal and rendered (kept forms dropped first)."""
    seen = Counts()
    count_calls(monkeypatch, seen, "renders", reading, "deal_for_form")
    edit_form.forget_all()
    yield seen
    edit_form.forget_all()


async def _form(client: Any, deal: uuid.UUID | str) -> str:
    page = await client.get(f"/deals/{deal}/edit")
    assert page.status_code == 200, page.status_code
    return str(page.text)


def _content(page: str) -> str:
    """The kept part of a page (the layout around it carries toasts and the like)."""
    return page.split('id="deal-form"', 1)[1].rsplit("</main>", 1)[0]


def _token(page: str) -> str:
    return page.split('name="_csrf" value="')[1].split('"')[0]


async def _changed(client: Any, counts: Counts, deal: uuid.UUID, before: str) -> str:
    """The form read and rendered again after a change; its kept part differs."""
    renders = counts.renders
    after = await _form(client, deal)
    assert counts.renders == renders + 1, "the kept form was shown after a change"
    assert _content(after) != _content(before)
    return after


async def test_a_second_load_reuses_the_kept_form(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    deal = await make_deal(tenant_a, "Kept deal", amount="1234")
    first = await _form(client_a, deal)
    assert counts.renders == 1 and "Kept deal" in first and 'value="1234.00"' in first
    second = await _form(client_a, deal)
    assert counts.renders == 1 and second == first
    # the kept markup is what a fresh render writes, with this session's CSRF token in it
    edit_form.forget_all()
    assert await _form(client_a, deal) == first and counts.renders == 2
    assert CSRF_MARK not in first and _token(first) == client_a.csrf
    assert 'name="version" value="1"' in first
    # htmx asks for the form alone: the same kept markup, the token in it
    block = await client_a.get(f"/deals/{deal}/edit", headers={"HX-Request": "true"})
    assert block.status_code == 200 and "<html" not in block.text
    assert block.text.startswith('<div class="card deal-form-card" id="deal-form">')
    assert _token(block.text) == client_a.csrf and counts.renders == 2


async def test_the_deal_its_version_and_custom_values(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    deal = await make_deal(tenant_a, "Versioned deal")
    page = await _form(client_a, deal)
    current = await current_of(tenant_a)
    edit = {
        "title": "Saved deal",
        "amount": "1000",
        "currency": "EUR",
        "stage_id": str((await stages(tenant_a))["Lead"].id),
        "version": "1",
    }
    await services.update_deal(current, deal, parse(DealEdit, edit))
    page = await _changed(client_a, counts, deal, page)
    assert "Saved deal" in page and 'name="version" value="2"' in page
    # a stale save is refused with its message, rendered now and never kept
    stale = await client_a.post_form(f"/deals/{deal}", {**edit, "title": "Stale"})
    assert stale.status_code == 409 and "Stale" in stale.text
    again = await _form(client_a, deal)
    assert "Stale" not in again and _content(again) == _content(page)
    # any column of the row: a board move (stage, position), the custom values
    await app_sql(tenant_a, "update deals set lost_reason = 'Too dear' where id = $1", deal)
    page = await _changed(client_a, counts, deal, page)
    assert "Too dear" in page
    field = uuid.uuid4()
    await app_sql(
        tenant_a,
        "insert into custom_fields (id, tenant_id, object_kind, key, label, field_type)"
        " values ($1, $2, 'deal', 'tier', 'Tier', 'text')",
        field,
        tenant_a.tenant_id,
    )
    page = await _changed(client_a, counts, deal, page)
    assert "Tier" in page
    await app_sql(
        tenant_a,
        "update deals set custom_values = jsonb_build_object($2::text, 'Gold') where id = $1",
        deal,
        str(field),
    )
    page = await _changed(client_a, counts, deal, page)
    assert 'value="Gold"' in page
    await app_sql(tenant_a, "update custom_fields set label = 'Level' where key = 'tier'")
    page = await _changed(client_a, counts, deal, page)
    assert "Level" in page and "Tier" not in page


async def test_its_company_and_contacts(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    company = await make_company(client_a, "Acme")
    contact = await make_contact(client_a, "Pat", "Buyer")
    deal = await make_deal(tenant_a, "Linked deal", company_id=company, contact_ids=contact)
    page = await _form(client_a, deal)
    assert "Acme" in page and "Pat Buyer" in page
    await app_sql(tenant_a, "update companies set name = 'Acme Renamed' where id = $1", company)
    page = await _changed(client_a, counts, deal, page)
    assert "Acme Renamed" in page
    await app_sql(tenant_a, "update contacts set last_name = 'Seller' where id = $1", contact)
    page = await _changed(client_a, counts, deal, page)
    assert "Pat Seller" in page
    other = await make_contact(client_a, "Sam", "Second")
    await app_sql(
        tenant_a,
        "insert into deal_contacts (id, tenant_id, deal_id, contact_id)"
        " values (gen_random_uuid(), $1, $2, $3)",
        tenant_a.tenant_id,
        deal,
        uuid.UUID(other),
    )
    page = await _changed(client_a, counts, deal, page)
    assert "Sam Second" in page
    await app_sql(tenant_a, "delete from deal_contacts where contact_id = $1", uuid.UUID(contact))
    page = await _changed(client_a, counts, deal, page)
    assert "Pat Seller" not in page and "Sam Second" in page


async def test_members_stages_and_pipelines(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    deal = await make_deal(tenant_a, "Workspace deal")
    page = await _form(client_a, deal)
    # a member added (the owner picker), a member's name
    await app_sql(
        tenant_a,
        "insert into memberships (id, tenant_id, user_id, role) values ($1, $2, $3, 'member')",
        uuid.uuid4(),
        tenant_a.tenant_id,
        tenant_b.user_id,
    )
    page = await _changed(client_a, counts, deal, page)
    assert tenant_b.name in page
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        await conn.execute("update users set name = 'Bea Renamed' where id = $1", tenant_b.user_id)
    page = await _changed(client_a, counts, deal, page)
    assert "Bea Renamed" in page
    # a stage renamed, a pipeline renamed, a pipeline added (the stage picker)
    lead = (await stages(tenant_a))["Lead"].id
    await app_sql(tenant_a, "update stages set name = 'First touch' where id = $1", lead)
    page = await _changed(client_a, counts, deal, page)
    assert "First touch" in page
    await app_sql(tenant_a, "update pipelines set name = 'Main line'")
    page = await _changed(client_a, counts, deal, page)
    assert '<optgroup label="Main line">' in page
    await pipelines.create_pipeline(await current_of(tenant_a), "Renewals")
    page = await _changed(client_a, counts, deal, page)
    assert '<optgroup label="Renewals">' in page


async def test_another_workspace_a_deleted_deal_and_each_readers_token(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    deal = await make_deal(tenant_a, "Private deal")
    page = await _form(client_a, deal)
    for _ in range(2):  # A's form is kept now: B still gets a 404 for its id
        refused = await client_b.get(f"/deals/{deal}/edit")
        assert refused.status_code == 404 and "Private deal" not in refused.text
    colleague = await add_colleague(tenant_a, "formreader")
    async with browser_client(app) as other:
        await other.login(colleague.email, colleague.password)
        theirs = await _form(other, deal)
        assert _token(theirs) == other.csrf and other.csrf != client_a.csrf
        assert _token(theirs) not in page
        renders = counts.renders
        assert await _form(other, deal) == theirs and counts.renders == renders
    # a deleted deal is a 404 at once
    await services.delete_deal(await current_of(tenant_a), deal, 1)
    assert (await client_a.get(f"/deals/{deal}/edit")).status_code == 404


async def test_kept_forms_are_bounded(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, monkeypatch: Any
) -> None:
    monkeypatch.setattr(edit_form._kept, "most", 2)
    for n in range(3):
        await _form(client_a, await make_deal(tenant_a, f"More {n}"))
    assert edit_form.kept_forms() == 2
