"""A list page's result kept per process (app/crm/kept_lists.py): reused while nothing it shows
changed, read again after any change of what it shows. Each change is made alone (through the
app's routes or services, or one SQL statement as the app role in its own transaction: what
another web process or a script commits), so each test fails if that one source stopped bumping
the workspace's list version (migrations/invoices 1.48.0) or the key missed a part of the view."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.accounts import services as accounts
from app.core.db import tally, tenant_transaction
from app.core.forms import parse
from app.core.kept import Kept
from app.crm import kept_lists, list_queries, saved_views
from app.crm.activity import record_activity
from app.crm.secure import seal_note
from tests.crm.test_custom_fields import add_field
from tests.crm.test_list_rows_kept import row_of
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import add_colleague, current_of
from tests.helpers import (
    Account,
    Counts,
    Mailbox,
    app_sql,
    browser_client,
    count_calls,
    until_a_lock_is_waited,
    version_on,
)


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """How often a list page read its rows (kept results dropped first)."""
    seen = Counts()
    count_calls(monkeypatch, seen, "reads", list_queries, "contact_page")
    count_calls(monkeypatch, seen, "reads", list_queries, "company_page")
    kept_lists.forget_all()
    yield seen
    kept_lists.forget_all()


async def _list(client: Any, path: str = "/contacts", **params: str) -> str:
    page = await client.get(path, params=params)
    assert page.status_code == 200, page.status_code
    return str(page.text)


def _results(page: str) -> str:
    """The list's results (the layout around them carries toasts and the like)."""
    return page.split('<div id="results">', 1)[1].split("</main>", 1)[0]


async def _read(client: Any, counts: Counts, **params: str) -> str:
    """The contact list read again (its rows from the database)."""
    reads = counts.reads
    page = await _list(client, **params)
    assert counts.reads == reads + 1, "a kept result was shown after a change"
    return page


async def _kept(client: Any, counts: Counts, **params: str) -> str:
    """The contact list from the kept result (no rows read)."""
    reads = counts.reads
    page = await _list(client, **params)
    assert counts.reads == reads
    return page


async def _lists_version(account: Account) -> int:
    async with tenant_transaction(account.tenant_id) as conn:
        return int(await conn.fetchval("select lists from dashboard_versions"))


async def test_a_second_load_and_every_reader_reuse_the_result(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    contact = await make_contact(client_a, "Rhea", "Reused", title="Buyer")
    first = await _read(client_a, counts)
    assert row_of(first, contact)
    assert _results(await _kept(client_a, counts)) == _results(first)
    kept_lists.forget_all()  # what was kept is what a fresh read gives
    assert _results(await _read(client_a, counts)) == _results(first)
    # each part of the view is its own result: search, filter, order, cursor
    await _read(client_a, counts, q="Reused")
    await _kept(client_a, counts, q="Reused")
    await _read(client_a, counts, q="reused")  # another text: another key
    await _read(client_a, counts, sort="title")
    await _read(client_a, counts, sort="title", dir="desc")
    await _read(client_a, counts, tags_op="any", tags="vip")
    await _read(client_a, counts, after="WyJ6IiwiMCJd")


async def test_contacts_added_edited_and_deleted_in_the_app(
    client_a: Any, tenant_a: Account, counts: Counts
) -> None:
    company = await make_company(client_a, "Listco")
    contact = await make_contact(client_a, "Lena", "Listed", company_id=company)
    page = await _read(client_a, counts)
    search = await _read(client_a, counts, q="Listed")
    assert row_of(page, contact) and row_of(search, contact)
    added = await make_contact(client_a, "Lars", "Listed")
    assert row_of(await _read(client_a, counts), added)
    assert row_of(await _read(client_a, counts, q="Listed"), added)
    edited = await client_a.post_form(
        f"/contacts/{contact}/edit",
        {
            "first_name": "Lena",
            "last_name": "Renamed",
            "title": "Head of Lists",
            "company_id": company,
            "version": await version_on(client_a, f"/contacts/{contact}/edit"),
        },
    )
    assert edited.status_code == 303
    assert "Head of Lists" in row_of(await _read(client_a, counts), contact)
    assert not row_of(await _read(client_a, counts, q="Listed"), contact)
    assert row_of(await _read(client_a, counts, q="Renamed"), contact)
    version = await version_on(client_a, f"/contacts/{contact}/delete")
    deleted = await client_a.post_form(f"/contacts/{contact}/delete", {"version": version})
    assert deleted.status_code == 303
    page = await _read(client_a, counts)
    assert not row_of(page, contact) and 'id="view-count">1 contact<' in page


async def test_changes_committed_in_sql_elsewhere(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, mailbox: Mailbox
) -> None:
    """Rows written beside the app (another process's transaction), a company renamed, the
    owner renamed: the next page shows each."""
    company = await make_company(client_a, "Sqlco Old")
    contact = await make_contact(
        client_a, "Sam", "Sequel", company_id=company, owner_id=str(tenant_a.user_id)
    )
    page = await _read(client_a, counts)
    assert "Sqlco Old" in row_of(page, contact) and tenant_a.name in row_of(page, contact)
    new = uuid.uuid4()
    await app_sql(
        tenant_a,
        "insert into contacts (id, tenant_id, first_name, last_name)"
        " values ($1, $2, 'Ina', 'Sert')",
        new,
        tenant_a.tenant_id,
    )
    page = await _read(client_a, counts)
    assert row_of(page, str(new)) and 'id="view-count">2 contacts<' in page
    assert row_of(await _read(client_a, counts, q="Sert"), str(new))
    await app_sql(tenant_a, "update contacts set title = 'Quietly edited' where id = $1", new)
    assert "Quietly edited" in row_of(await _read(client_a, counts), str(new))
    await app_sql(tenant_a, "update companies set name = 'Sqlco New' where id = $1", company)
    assert "Sqlco New" in row_of(await _read(client_a, counts), contact)
    await accounts.update_profile(await current_of(tenant_a), "Renamed Owner")
    assert "Renamed Owner" in row_of(await _read(client_a, counts), contact)
    await app_sql(tenant_a, "delete from contacts where id = $1", new)
    page = await _read(client_a, counts)
    assert not row_of(page, str(new)) and 'id="view-count">1 contact<' in page
    # a statement that changes nothing bumps nothing
    await app_sql(tenant_a, "update contacts set title = title where id = $1", contact)
    await _kept(client_a, counts)


async def test_custom_values_and_definitions(
    client_a: Any, tenant_a: Account, counts: Counts
) -> None:
    field = await add_field(client_a, tenant_a, "contact", "Rank", "number")
    low = await make_contact(client_a, "Nia", "Nine", **{"custom.rank": "9"})
    high = await make_contact(client_a, "Tea", "Ten", **{"custom.rank": "10"})
    view = {"cols": "rank", "sort": "cf.rank"}
    page = await _read(client_a, counts, **view)
    assert page.index(f'value="{low}"') < page.index(f'value="{high}"')  # 9 before 10
    # the field's definition: as text, "10" sorts before "9"
    await app_sql(
        tenant_a, "update custom_fields set field_type = 'text' where id = $1", field["id"]
    )
    page = await _read(client_a, counts, **view)
    assert page.index(f'value="{high}"') < page.index(f'value="{low}"')
    # a value: filtered by it
    assert not row_of(await _read(client_a, counts, **{"cf.rank": "10"}), low)
    await app_sql(
        tenant_a,
        "update contacts set custom_values = jsonb_build_object($2::text, '10') where id = $1",
        uuid.UUID(low),
        str(field["id"]),
    )
    assert row_of(await _read(client_a, counts, **{"cf.rank": "10"}), low)


async def test_another_workspace_neither_leaks_nor_matters(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    mine = await make_contact(client_a, "Ada", "Alpha")
    theirs = await make_contact(client_b, "Ada", "Alpha")  # the same names in B
    assert await _lists_version(tenant_a) == await _lists_version(tenant_b)  # same numbers
    for _ in range(2):
        a_page, b_page = await _list(client_a, q="Alpha"), await _list(client_b, q="Alpha")
        assert row_of(a_page, mine) and not row_of(a_page, theirs)
        assert row_of(b_page, theirs) and not row_of(b_page, mine)
    assert counts.reads == 2 and kept_lists.kept_pages() == 2
    # B's writes (app and SQL) bump B's version only: A's page stays kept
    before = await _lists_version(tenant_a)
    await make_contact(client_b, "Bo", "Beta")
    await app_sql(tenant_b, "update contacts set title = 'B only' where id = $1", uuid.UUID(theirs))
    assert await _lists_version(tenant_a) == before
    assert not row_of(await _kept(client_a, counts, q="Alpha"), theirs)
    assert "B only" in row_of(await _read(client_b, counts, q="Alpha"), theirs)


async def test_member_and_admin_share_the_rows_not_their_parts(
    app: Any, client_a: Any, tenant_a: Account, counts: Counts, mailbox: Mailbox
) -> None:
    """The rows are the workspace's: a member's page reuses the admin's result, but shows
    their own saved views and never the admin's private ones."""
    contact = await make_contact(client_a, "Mia", "Member")
    await _read(client_a, counts)
    member = await add_colleague(tenant_a, mailbox)  # a new person in the owner choices
    assert f">{member.name}</option>" in await _kept(client_a, counts)
    admin = await current_of(tenant_a)
    saved = await saved_views.save_view(
        admin, parse(saved_views.SaveView, {"kind": "contacts", "name": "Admin draft"})
    )
    assert "Admin draft" in await _kept(client_a, counts)  # the same rows, the new view
    await saved_views.rename_view(admin, saved, "Admin private")  # a view's row changed
    admin_page = await _kept(client_a, counts)
    assert "Admin private" in admin_page and "Admin draft" not in admin_page
    assert row_of(admin_page, contact)
    async with browser_client(app) as colleague:
        await colleague.login(member.email, member.password)
        member_page = await _kept(colleague, counts)
        assert row_of(member_page, contact) == row_of(admin_page, contact)
        assert "Admin private" not in member_page
        theirs = await current_of(member)
        await saved_views.save_view(
            theirs, parse(saved_views.SaveView, {"kind": "contacts", "name": "Member own"})
        )
        member_page = await _kept(colleague, counts)
        assert "Member own" in member_page
        # each reader's own CSRF token in the kept content (the bulk bar's form), never a mark
        assert colleague.csrf != client_a.csrf and "\x00" not in member_page
        assert f'name="_csrf" value="{colleague.csrf}"' in _results(member_page)
        assert client_a.csrf not in member_page
    admin_page = await _kept(client_a, counts)
    assert "Member own" not in admin_page and colleague.csrf not in admin_page
    assert f'name="_csrf" value="{client_a.csrf}"' in _results(admin_page)


async def test_htmx_results_are_kept_apart_and_follow_changes(
    client_a: Any, tenant_a: Account, counts: Counts
) -> None:
    """htmx's search-as-you-type asks for the results alone: kept apart from the page's
    content, both read again after a change."""
    contact = await make_contact(client_a, "Hana", "Htmx")
    hx = {"HX-Request": "true"}
    part = await client_a.get("/contacts", params={"q": "Htmx"}, headers=hx)
    assert part.status_code == 200 and part.text.startswith('<div id="results">')
    assert row_of(part.text, contact) and "<html" not in part.text
    page = await _kept(client_a, counts, q="Htmx")  # the page: the same result, kept
    assert "<html" in page and row_of(page, contact)
    assert (await client_a.get("/contacts", params={"q": "Htmx"}, headers=hx)).text == part.text
    await app_sql(tenant_a, "update contacts set title = 'Swapped' where id = $1", contact)
    reads = counts.reads
    part = await client_a.get("/contacts", params={"q": "Htmx"}, headers=hx)
    assert "Swapped" in row_of(part.text, contact) and counts.reads == reads + 1
    assert "Swapped" in row_of(await _kept(client_a, counts, q="Htmx"), contact)


async def test_the_kept_results_are_bounded(
    client_a: Any, tenant_a: Account, counts: Counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_contact(client_a, "Bea", "Bounded")
    monkeypatch.setattr(kept_lists, "_contents", Kept(0, 0))  # the results alone
    monkeypatch.setattr(kept_lists, "_kept", Kept(2, 10_000_000))
    for q in ("a", "b", "c"):
        await _read(client_a, counts, q=q)
    assert kept_lists.kept_pages() == 2 and kept_lists.kept_contents() == 0
    await _read(client_a, counts, q="a")  # the oldest used went first
    await _kept(client_a, counts, q="c")
    # by size: a result larger than the whole budget is not kept; the rest fit within it
    first = await _list(client_a)
    size = kept_lists.kept_size() // max(kept_lists.kept_pages(), 1)
    monkeypatch.setattr(kept_lists, "_kept", Kept(100, size * 2))
    for q in ("a", "b", "c", "d"):
        await _list(client_a, q=q)
        assert kept_lists.kept_size() <= size * 2
    monkeypatch.setattr(kept_lists, "_kept", Kept(100, 10))
    assert _results(await _read(client_a, counts)) == _results(first)
    assert kept_lists.kept_pages() == 0


async def test_the_kept_contents_are_bounded(
    client_a: Any, tenant_a: Account, counts: Counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_contact(client_a, "Bo", "Bounded")
    monkeypatch.setattr(kept_lists, "_contents", Kept(2, 10_000_000))
    for q in ("a", "b", "c"):
        await _list(client_a, q=q)
    assert kept_lists.kept_contents() == 2
    content = len(_results(await _list(client_a)).encode())
    monkeypatch.setattr(kept_lists, "_contents", Kept(100, content * 3))
    for q in ("a", "b", "c", "d", "e"):
        await _list(client_a, q=q)
    assert 1 <= kept_lists.kept_contents() <= 3
    monkeypatch.setattr(kept_lists, "_contents", Kept(100, 100))  # none fits
    assert "Bounded" in await _list(client_a) and kept_lists.kept_contents() == 0


async def test_the_company_list_is_kept_too(
    client_a: Any, tenant_a: Account, counts: Counts
) -> None:
    company = await make_company(client_a, "Firstco")
    reads = counts.reads
    assert company in await _list(client_a, "/companies")
    assert company in await _list(client_a, "/companies") and counts.reads == reads + 1
    await app_sql(tenant_a, "update companies set industry = 'Lists' where id = $1", company)
    assert "Lists" in await _list(client_a, "/companies") and counts.reads == reads + 2


async def test_list_versions_bump_once_per_transaction_and_stay_in_the_workspace(
    tenant_a: Account, tenant_b: Account
) -> None:
    """The migration's triggers: contacts, companies and custom fields bump `lists` (not the
    dashboard's version), once per transaction, at commit; RLS keeps each workspace's row."""
    start = await _lists_version(tenant_a)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        dashboard = await conn.fetchval("select version from dashboard_versions")
        await conn.execute(
            "insert into contacts (id, tenant_id, last_name) select gen_random_uuid(), $1,"
            " 'Many' || g from generate_series(1, 50) g",
            tenant_a.tenant_id,
        )
        await conn.execute("update contacts set title = 'Bulk' where last_name like 'Many%'")
        assert await conn.fetchval("select lists from dashboard_versions") == start  # at commit
    assert await _lists_version(tenant_a) == start + 1
    for sql in (
        "insert into companies (id, tenant_id, name) values (gen_random_uuid(), $1, 'Co')",
        "insert into custom_fields (id, tenant_id, object_kind, key, label, field_type)"
        " values (gen_random_uuid(), $1, 'contact', 'lvl', 'Lvl', 'text')",
    ):
        before = await _lists_version(tenant_a)
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            await conn.execute(sql, tenant_a.tenant_id)
        assert await _lists_version(tenant_a) == before + 1
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select version from dashboard_versions") == dashboard
    b_before = await _lists_version(tenant_b)
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        bumped = await conn.execute(
            "update dashboard_versions set lists = lists + 100 where tenant_id = $1",
            tenant_a.tenant_id,
        )
        assert bumped == "UPDATE 0"
    assert await _lists_version(tenant_b) == b_before


async def test_a_kept_list_page_opens_no_transaction(
    client_a: Any, tenant_a: Account, counts: Counts
) -> None:
    """Kept: the frame's one self-scoped statement (no BEGIN, no COMMIT); else one
    transaction for the frame and the rows."""
    await make_contact(client_a, "Una", "Units")
    with tally() as opened:
        await _read(client_a, counts, q="Units")
    assert opened[0] == 1
    with tally() as opened:
        await _kept(client_a, counts, q="Units")
    assert opened[0] == 0


async def test_a_contact_edit_and_a_note_on_its_company_never_deadlock(
    client_a: Any, tenant_a: Account, owner_conn: Any
) -> None:
    """A note on a company locks the company's record version, then (its timeline entry) the
    workspace's dashboard row; a contact edit of that company locks the same two in the same
    order (the list version's triggers fire after the record version's). Bumps fired early
    by SET CONSTRAINTS, as a commit fires them: the edit waits for the note's writer, which
    holds no dashboard row yet; the note finishes, then the edit (no deadlock)."""
    company = uuid.UUID(await make_company(client_a, "Lockco"))
    contact = uuid.UUID(await make_contact(client_a, "Lou", "Locked", company_id=str(company)))
    noted, note_go = asyncio.Event(), asyncio.Event()

    async def note_writer() -> None:
        async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
            note = uuid.uuid4()
            await conn.execute(
                "insert into notes (id, tenant_id, subject_type, subject_id, body_enc)"
                " values ($1, $2, 'company', $3, $4)",
                note,
                tenant_a.tenant_id,
                company,
                seal_note("Called", tenant_a.tenant_id, note),
            )
            await conn.execute("set constraints all immediate")  # the company's version
            noted.set()
            await note_go.wait()
            await record_activity(tenant_a.tenant_id, None, "company", company, "note", "x")
            await conn.execute("set constraints all immediate")  # the dashboard's row

    async def contact_writer() -> None:
        await noted.wait()
        async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
            await conn.execute("update contacts set title = 'Edited' where id = $1", contact)
            await conn.execute("set constraints all immediate")

    writers = asyncio.gather(note_writer(), contact_writer())
    await noted.wait()
    await until_a_lock_is_waited(owner_conn, "the edit")
    note_go.set()
    await asyncio.wait_for(writers, 20)  # a deadlock would fail one of them
