"""The company page's content kept per process (app/crm/company_page.py): reused while nothing it
shows changed, read and rendered again after any change of what it shows. Each change below is
made alone (through the app's routes or services, or one SQL statement as the app role), so each
test fails if that one source stopped bumping the company's version or digest."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.accounts import services as accounts
from app.core.db import tenant_transaction
from app.crm import company_page
from app.crm.secure import seal_note
from tests.crm.test_notes_tasks import add_colleague
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import current_of, make_deal, stages
from tests.helpers import (
    Account,
    Counts,
    app_sql,
    browser_client,
    clear_of_a_minute_turn,
    count_calls,
)


@pytest.fixture(autouse=True)
async def _clear_of_a_minute_turn() -> None:
    """Each test starts at least 15 s before the minute turns (the kept markup's key)."""
    await clear_of_a_minute_turn()


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """How often the company page read and rendered its content (kept pages dropped first)."""
    seen = Counts()
    count_calls(monkeypatch, seen, "renders", company_page, "_render")
    company_page.forget_all()
    yield seen
    company_page.forget_all()


async def _page(client: Any, company: str) -> str:
    page = await client.get(f"/companies/{company}")
    assert page.status_code == 200, page.status_code
    return str(page.text)


def _content(page: str) -> str:
    """The kept part of a page (the layout around it carries toasts and the like)."""
    return page.split('<div class="row g-4">', 1)[1].rsplit("</main>", 1)[0]


async def _changed(client: Any, counts: Counts, company: str, before: str) -> str:
    """The page read and rendered again after a change; its kept part differs."""
    renders = counts.renders
    after = await _page(client, company)
    assert counts.renders == renders + 1
    assert _content(after) != _content(before)
    return after


async def _same(client: Any, counts: Counts, company: str, before: str) -> str:
    renders = counts.renders
    after = await _page(client, company)
    assert counts.renders == renders and _content(after) == _content(before)
    return after


async def test_a_second_load_reuses_the_kept_content(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    company = await make_company(client_a, "Kept Corp", domain="kept.example.com")
    first = await _page(client_a, company)
    assert counts.renders == 1 and "Kept Corp" in first and "kept.example.com" in first
    second = await _page(client_a, company)
    assert counts.renders == 1 and _content(first) == _content(second)
    # the kept markup is what a fresh render writes, with this session's CSRF token in it
    company_page.forget_all()
    assert _content(await _page(client_a, company)) == _content(first)
    assert counts.renders == 2
    assert company_page.CSRF_MARK not in first
    token = first.split('name="_csrf" value="')[1].split('"')[0]
    assert token and _content(first).count(token) >= 2  # the note form, the activity form


async def test_the_company_its_notes_activities_and_timeline(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    company = await make_company(client_a, "Busy Corp")
    page = await _page(client_a, company)
    # the company itself (its edit form)
    edited = await client_a.post_form(
        f"/companies/{company}/edit", {"name": "Busy Corp Renamed", "version": "1"}
    )
    assert edited.status_code in (200, 303)
    page = await _changed(client_a, counts, company, page)
    assert "Busy Corp Renamed" in page
    await app_sql(
        tenant_a, "update companies set address = 'Harbour Road 1' where id = $1", company
    )
    page = await _changed(client_a, counts, company, page)
    assert "Harbour Road 1" in page
    # a note (the route), and one deleted
    added = await client_a.post_form(f"/records/company/{company}/notes", {"body": "Met the buyer"})
    assert added.status_code in (200, 303)
    page = await _changed(client_a, counts, company, page)
    assert "Met the buyer" in page and "added a note" in page
    note = uuid.uuid4()
    await app_sql(
        tenant_a,
        "insert into notes (id, tenant_id, subject_type, subject_id, body_enc)"
        " values ($1, $2, 'company', $3, $4)",
        note,
        tenant_a.tenant_id,
        uuid.UUID(company),
        seal_note("Written elsewhere", tenant_a.tenant_id, note),
    )
    page = await _changed(client_a, counts, company, page)
    assert "Written elsewhere" in page
    await app_sql(tenant_a, "delete from notes where id = $1", note)
    page = await _changed(client_a, counts, company, page)
    assert "Written elsewhere" not in page
    # an activity, done and reopened
    task = uuid.uuid4()
    await app_sql(
        tenant_a,
        "insert into tasks (id, tenant_id, subject_type, subject_id, title, kind, due_date)"
        " values ($1, $2, 'company', $3, 'Call the buyer', 'call', current_date - 1)",
        task,
        tenant_a.tenant_id,
        uuid.UUID(company),
    )
    page = await _changed(client_a, counts, company, page)
    assert "Call the buyer" in page and "overdue" in page
    await app_sql(tenant_a, "update tasks set done_at = now() where id = $1", task)
    page = await _changed(client_a, counts, company, page)
    assert "overdue" not in page
    # a timeline entry alone
    await app_sql(
        tenant_a,
        "insert into activities (id, tenant_id, subject_type, subject_id, action, summary)"
        " values (gen_random_uuid(), $1, 'company', $2, 'updated', 'Looked it over')",
        tenant_a.tenant_id,
        uuid.UUID(company),
    )
    page = await _changed(client_a, counts, company, page)
    assert "Looked it over" in page
    # a note on another record leaves the page as it was
    other = await make_company(client_a, "Other Corp")
    await client_a.post_form(f"/records/company/{other}/notes", {"body": "Elsewhere"})
    await _same(client_a, counts, company, page)


async def test_its_contacts_deals_and_invoices(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    company = await make_company(client_a, "Linked Corp")
    page = await _page(client_a, company)
    contact = await make_contact(client_a, "Hank", "Scorpio", company_id=company)
    page = await _changed(client_a, counts, company, page)
    assert "Hank Scorpio" in page
    await app_sql(tenant_a, "update contacts set title = 'Chief buyer' where id = $1", contact)
    page = await _changed(client_a, counts, company, page)
    assert "Chief buyer" in page
    await app_sql(tenant_a, "update contacts set company_id = null where id = $1", contact)
    page = await _changed(client_a, counts, company, page)
    assert "Hank Scorpio" not in page
    # deals: added, edited, its stage renamed
    deal = await make_deal(tenant_a, "Linked deal", company_id=company)
    page = await _changed(client_a, counts, company, page)
    assert "Linked deal" in page and "Lead" in page
    await app_sql(tenant_a, "update deals set amount = 777 where id = $1", deal)
    page = await _changed(client_a, counts, company, page)
    assert "777.00" in page
    lead = (await stages(tenant_a))["Lead"].id
    await app_sql(tenant_a, "update stages set name = 'Prospect' where id = $1", lead)
    page = await _changed(client_a, counts, company, page)
    assert "Prospect" in page
    await app_sql(tenant_a, "delete from deals where id = $1", deal)
    page = await _changed(client_a, counts, company, page)
    assert "Linked deal" not in page
    # invoices
    await app_sql(
        tenant_a,
        "insert into invoices (id, tenant_id, number, company_id, status, due_date, issue_date,"
        " total) values (gen_random_uuid(), $1, 4242, $2, 'draft', current_date + 30,"
        " current_date, 99)",
        tenant_a.tenant_id,
        uuid.UUID(company),
    )
    page = await _changed(client_a, counts, company, page)
    assert "INV-04242" in page
    await app_sql(tenant_a, "update invoices set status = 'paid' where number = 4242")
    page = await _changed(client_a, counts, company, page)
    assert "Paid" in page


async def test_people_members_custom_fields_and_participants(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    company = await make_company(client_a, "People Corp")
    await client_a.post_form(f"/records/company/{company}/notes", {"body": "Hello"})
    page = await _page(client_a, company)
    assert tenant_a.name in page
    # a person's name (the note's author, the assignee choices)
    await accounts.update_profile(await current_of(tenant_a), "Renamed Author")
    page = await _changed(client_a, counts, company, page)
    assert "Renamed Author" in page
    # a member added (the assignee choices)
    colleague = uuid.uuid4()
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        await conn.execute(
            "update users set name = 'Bea Colleague' where id = $1", tenant_b.user_id
        )
    renders = counts.renders  # a rename, anywhere: the epoch (read again, nothing differs)
    page = await _page(client_a, company)
    assert counts.renders == renders + 1
    await app_sql(
        tenant_a,
        "insert into memberships (id, tenant_id, user_id, role) values ($1, $2, $3, 'member')",
        colleague,
        tenant_a.tenant_id,
        tenant_b.user_id,
    )
    page = await _changed(client_a, counts, company, page)
    assert "Bea Colleague" in page
    # a custom field of companies
    await app_sql(
        tenant_a,
        "insert into custom_fields (id, tenant_id, object_kind, key, label, field_type)"
        " values (gen_random_uuid(), $1, 'company', 'tier', 'Tier', 'text')",
        tenant_a.tenant_id,
    )
    page = await _changed(client_a, counts, company, page)
    assert "Tier" in page
    # an activity's participant renamed
    contact = await make_contact(client_a, "Pat", "Partner")
    await app_sql(
        tenant_a,
        "insert into tasks (id, tenant_id, subject_type, subject_id, title, kind,"
        " participant_ids) values (gen_random_uuid(), $1, 'company', $2, 'Lunch', 'meeting',"
        " array[$3::uuid])",
        tenant_a.tenant_id,
        uuid.UUID(company),
        uuid.UUID(contact),
    )
    page = await _changed(client_a, counts, company, page)
    assert "with Pat Partner" in page
    await app_sql(tenant_a, "update contacts set last_name = 'Renamed' where id = $1", contact)
    page = await _changed(client_a, counts, company, page)
    assert "with Pat Renamed" in page


async def test_readers_roles_and_another_workspace(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    company = await make_company(client_a, "Private Corp")
    await client_a.post_form(f"/records/company/{company}/notes", {"body": "Secret note"})
    page = await _page(client_a, company)
    assert "Secret note" in page and "/delete" in _content(page)
    # a refused note: the page with its message, rendered now and never kept
    refused = await client_a.post_form(f"/records/company/{company}/notes", {"body": " "})
    assert refused.status_code == 422 and "is-invalid" in refused.text
    assert "is-invalid" not in await _same(client_a, counts, company, page)
    for _ in range(2):  # A's page is kept now: B still gets a 404 for its id
        refused = await client_b.get(f"/companies/{company}")
        assert refused.status_code == 404 and "Secret note" not in refused.text
    # a deleted company is a 404 at once
    gone = await client_a.post_form(f"/companies/{company}/delete", {"version": "1"})
    assert gone.status_code in (200, 303)
    assert (await client_a.get(f"/companies/{company}")).status_code == 404


async def test_kept_per_minute_and_bounded(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, monkeypatch: Any
) -> None:
    company = await make_company(client_a, "Timely Corp")
    page = await _page(client_a, company)
    (key,) = company_page._kept
    company_page._kept[key._replace(minute=key.minute - 1)] = company_page._kept.pop(key)
    assert _content(await _page(client_a, company)) == _content(page) and counts.renders == 2
    monkeypatch.setattr(company_page, "KEPT_PAGES", 2)
    for n in range(3):
        await _page(client_a, await make_company(client_a, f"More {n}"))
    assert company_page.kept_pages() == 2


async def test_record_versions_are_invisible_and_unwritable_to_another_workspace(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    company = await make_company(client_a, "Versioned Corp")
    await client_a.post_form(f"/records/company/{company}/notes", {"body": "Bump"})
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval(
            "select version from record_versions where subject_id = $1", uuid.UUID(company)
        )
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from record_versions") == 0
        await conn.execute("update record_versions set version = 0")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval(
            "select version from record_versions where subject_id = $1", uuid.UUID(company)
        )


async def test_each_reader_sees_their_own_buttons_and_token(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    company = await make_company(client_a, "Shared Corp")
    await client_a.post_form(f"/records/company/{company}/notes", {"body": "Owner's note"})
    owner_page = await _page(client_a, company)
    assert "/notes/" in owner_page and "/delete" in owner_page.split("Owner&#39;s note")[0]
    colleague = await add_colleague(tenant_a, "pagereader")
    async with browser_client(app) as other:
        await other.login(colleague.email, colleague.password)
        page = await _page(other, company)
        # a member may not delete the owner's note; the colleague's own token is in the forms
        assert "Owner&#39;s note" in page and 'action="/notes/' not in page
        token = page.split('name="_csrf" value="')[1].split('"')[0]
        assert token not in owner_page
        # the default assignee is the reader
        assert f'value="{colleague.user_id}" selected' in page
        again = await _page(other, company)
        assert _content(again) == _content(page) and counts.renders == 2


async def test_one_statement_over_many_companies_bumps_each(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    firms = [await make_company(client_a, f"Bulk {n}") for n in range(3)]
    for firm in firms:
        await make_contact(client_a, "Bulk", f"Person {firm[:4]}", company_id=firm)
    pages = [await _page(client_a, firm) for firm in firms]
    await app_sql(
        tenant_a,
        "update contacts set title = 'Bulk title' where company_id = any($1::uuid[])",
        [uuid.UUID(f) for f in firms],
    )
    for firm, page in zip(firms, pages, strict=True):
        assert "Bulk title" in await _changed(client_a, counts, firm, page)
