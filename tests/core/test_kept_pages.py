"""Pages kept rendered whole around their kept parts (`render_with_parts` with `kept_by`: the
board, a company's page, a deal's edit form): the page a fresh render writes, with each
session's own CSRF token; anything the layout or heading shows (the pipeline's name, the
pipelines, the totals, the viewers, the company's name, the reader's name and role, the
workspace, toasts, the privacy banners) shows on the next page; another workspace's never."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.core import templating, web
from app.core.db import self_scoped, tally, tenant_transaction
from app.core.kept import CSRF_MARK, csrf_joined, csrf_split, with_csrf
from app.crm import company_page
from app.deals import board_cache, edit_form
from app.realtime import presence
from tests.crm.test_notes_tasks import add_colleague
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import make_deal
from tests.helpers import Account, Counts, app_sql, browser_client, count_calls


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """How often a page around its parts was rendered (everything kept dropped first)."""
    seen = Counts()
    count_calls(monkeypatch, seen, "renders", web, "render_html")
    for forget in (
        web.forget_shells,
        board_cache.forget_all,
        company_page.forget_all,
        edit_form.forget_all,
    ):
        forget()
    presence._recent.clear()
    yield seen
    web.forget_shells()


def _token(page: str) -> str:
    return page.split('name="csrf-token" content="')[1].split('"')[0]


async def _get(client: Any, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.status_code
    assert CSRF_MARK not in page.text and "\x00" not in page.text
    return str(page.text)


async def test_a_kept_page_is_what_a_fresh_render_writes_with_each_sessions_token(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    deal = await make_deal(tenant_a, "Kept deal")
    company = await make_company(client_a, "Kept Corp")
    assert "Company created." in await _get(client_a, "/deals/pipelines")  # its toast, shown
    for path in ("/deals/board", f"/companies/{company}", f"/deals/{deal}/edit"):
        renders = counts.renders
        first = await _get(client_a, path)
        assert counts.renders == renders + 1
        assert await _get(client_a, path) == first  # kept: not rendered again
        assert counts.renders == renders + 1 and _token(first) == client_a.csrf
        web.forget_shells()
        assert await _get(client_a, path) == first and counts.renders == renders + 2
        # another session of the same person: the same page with its own token everywhere
        async with browser_client(app) as other:
            await other.login(tenant_a.email, tenant_a.password)
            renders = counts.renders
            again = await _get(other, path)
            assert counts.renders == renders
            assert _token(again) == other.csrf != client_a.csrf
            assert client_a.csrf not in again
            assert again.replace(other.csrf, client_a.csrf) == first


async def test_a_list_page_is_kept_whole_around_its_kept_content(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    """The contact and company lists (and a search): the layout around the kept content is
    kept too; the toast shows once, each session gets its own token, B sees B's list."""
    await make_contact(client_a, "Kept", "Listed")
    assert "Contact created." in await _get(client_a, "/contacts")  # the toast: not kept
    await make_company(client_b, "Their Corp")
    for path in ("/contacts", "/contacts?q=Kept", "/companies"):
        first = await _get(client_a, path)
        assert "Contact created." not in first and _token(first) == client_a.csrf
        assert ("Listed" in first) == (path != "/companies") and "Their Corp" not in first
        renders = counts.renders
        assert await _get(client_a, path) == first and counts.renders == renders  # all kept
        web.forget_shells()
        assert await _get(client_a, path) == first and counts.renders == renders + 1
        async with browser_client(app) as other:
            await other.login(tenant_a.email, tenant_a.password)
            renders = counts.renders  # (the login's own pages)
            again = await _get(other, path)
            assert counts.renders == renders and client_a.csrf not in again
            assert again.replace(other.csrf, client_a.csrf) == first
        theirs = await _get(client_b, path)
        assert "Listed" not in theirs and tenant_a.name not in theirs


async def test_the_dashboard_is_kept_whole_around_its_kept_content(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    await make_company(client_a, "Dash Corp")
    assert "Company created." in await _get(client_a, "/app")  # the toast: not kept
    first = await _get(client_a, "/app")
    assert "Company created." not in first and _token(first) == client_a.csrf
    assert tenant_a.name in first and tenant_b.name not in first
    renders = counts.renders
    assert await _get(client_a, "/app") == first and counts.renders == renders  # all kept
    web.forget_shells()
    assert await _get(client_a, "/app") == first and counts.renders == renders + 1
    async with browser_client(app) as other:
        await other.login(tenant_a.email, tenant_a.password)
        renders = counts.renders  # (the login's own pages)
        again = await _get(other, "/app")
        assert counts.renders == renders and client_a.csrf not in again
        assert again.replace(other.csrf, client_a.csrf) == first
    theirs = await _get(client_b, "/app")
    assert tenant_b.name in theirs and tenant_a.name not in theirs


async def test_what_the_board_shows_around_its_cards_shows_on_the_next_page(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    deal = await make_deal(tenant_a, "Board deal")
    board = await _get(client_a, "/deals/board")
    pipeline = board.split('data-pipeline-id="')[1].split('"')[0]
    assert "<title>Sales · Deals" in board and 'class="dropdown-item' not in board
    # the pipeline renamed: title and heading
    renamed = {"name": "Renewals", "version": "1", "stale_days": "14"}
    assert (
        await client_a.post_form(f"/deals/pipelines/{pipeline}/rename", renamed)
    ).status_code in (
        200,
        303,
    )
    board = await _get(client_a, "/deals/board")  # the toast of the rename shows here, once
    assert "<title>Renewals · Deals" in board and "Pipeline renamed." in board
    again = await _get(client_a, "/deals/board")
    assert "Pipeline renamed." not in again and "<title>Renewals · Deals" in again
    # a second pipeline: the switcher appears
    assert (await client_a.post_form("/deals/pipelines", {"name": "Partners"})).status_code in (
        200,
        303,
    )
    await _get(client_a, "/deals/board")  # its toast
    board = await _get(client_a, "/deals/board")
    assert 'class="dropdown-item active"' in board and ">Partners</a>" in board
    # the totals line (in the page around the cards): an amount changed
    assert "1,000.00 EUR</strong> in 1 deal" in board
    await app_sql(tenant_a, "update deals set amount = 2500 where id = $1", deal)
    board = await _get(client_a, "/deals/board")
    assert "2,500.00 EUR</strong> in 1 deal" in board


async def test_the_boards_viewers_are_read_at_most_a_second_apart(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, monkeypatch: Any
) -> None:
    board = await _get(client_a, "/deals/board")
    pipeline = board.split('data-pipeline-id="')[1].split('"')[0]
    place, watcher = f"board:{pipeline}", uuid.uuid4()
    await presence.join(tenant_a.tenant_id, place, "sock-1", watcher, "Watcher One")
    # a join announced by this process shows on its next page at once
    board = await _get(client_a, "/deals/board")
    assert "Watcher One" in board and "Here now:" in board
    # a join elsewhere (not announced here) shows once the page's list is a second old
    await presence.redis().zadd(
        f"presence:{tenant_a.tenant_id}:{place}",
        {'{"c": "sock-2", "n": "Watcher Two", "u": "x"}': presence.time.time() + 30},
    )
    monkeypatch.setattr(presence, "RECENT_SECONDS", 0.0)
    board = await _get(client_a, "/deals/board")
    assert "Watcher One" in board and "Watcher Two" in board
    await presence.leave(tenant_a.tenant_id, place, "sock-1", watcher, "Watcher One")
    board = await _get(client_a, "/deals/board")
    assert "Watcher One" not in board and "Watcher Two" in board


async def test_the_reader_their_role_and_another_workspace(
    app: Any,
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
    counts: Counts,
    owner_conn: Any,
) -> None:
    await make_deal(tenant_a, "A deal")
    await make_deal(tenant_b, "B secret")
    mine, theirs = await _get(client_a, "/deals/board"), await _get(client_b, "/deals/board")
    assert tenant_a.name in mine and tenant_b.name not in mine and "B secret" not in mine
    assert tenant_b.name in theirs and tenant_a.name not in theirs and "A deal" not in theirs
    assert 'href="/deals/pipelines"' in mine  # the owner's "Stages" button
    # the reader renamed: the sidebar shows it on the next page
    await owner_conn.execute(
        "update users set name = 'Renamed Owner' where id = $1", tenant_a.user_id
    )
    page = await _get(client_a, "/deals/board")
    assert "Renamed Owner" in page and tenant_b.name not in page
    # a member sees no admin buttons; made admin, they do at once
    colleague = await add_colleague(tenant_a, "shellreader")
    async with browser_client(app) as other:
        await other.login(colleague.email, colleague.password)
        page = await _get(other, "/deals/board")
        assert 'href="/deals/pipelines"' not in page and colleague.name in page
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            await conn.execute(
                "update memberships set role = 'admin' where user_id = $1", colleague.user_id
            )
        page = await _get(other, "/deals/board")
        assert 'href="/deals/pipelines"' in page and colleague.name in page


async def test_the_company_renamed_and_the_cookie_banner(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    company = await make_company(client_a, "Old Name Corp")
    page = await _get(client_a, f"/companies/{company}")
    assert "Company created." in page
    assert "Company created." not in await _get(client_a, f"/companies/{company}")
    assert "<title>Old Name Corp" in page and 'id="cookie-banner"' in page
    await app_sql(
        tenant_a, "update companies set name = 'New Name Corp' where id = $1", uuid.UUID(company)
    )
    page = await _get(client_a, f"/companies/{company}")
    assert "<title>New Name Corp" in page and '<h1 class="h4 mb-0">New Name Corp' in page
    # a choice made: the banner goes from the next page on (the page is kept per it)
    chosen = await client_a.post_form("/privacy/consent", {"choice": "reject", "next": "/app"})
    assert chosen.status_code in (200, 303)
    for _ in range(2):
        page = await _get(client_a, f"/companies/{company}")
        assert 'id="cookie-banner"' not in page and "<title>New Name Corp" in page


async def test_a_slot_that_does_not_say_what_it_reads_keeps_no_page(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, monkeypatch: Any
) -> None:
    deal = await make_deal(tenant_a, "Unkept deal")
    top = templating._SLOTS["body_top"]
    unsaid = [dataclasses.replace(slot, varies_by=None) for slot in top]
    monkeypatch.setitem(templating._SLOTS, "body_top", unsaid)
    first = await _get(client_a, f"/deals/{deal}/edit")
    assert await _get(client_a, f"/deals/{deal}/edit") == first
    assert counts.renders == 2 and web.kept_shells() == 0


async def test_a_kept_company_page_or_edit_form_opens_no_transaction(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    """Kept, a company page and a deal's edit form read their state in one self-scoped
    statement each (no BEGIN, no COMMIT): nothing of the scope survives on the pooled
    connection, and another workspace's company or deal is not there, kept or not."""
    company = uuid.UUID(await make_company(client_a, "Scoped Corp"))
    deal = await make_deal(tenant_a, "Scoped deal")
    paths = (f"/companies/{company}", f"/deals/{deal}/edit")
    for path in paths:
        await _get(client_a, path)  # rendered (and any toast shown)
        with tally() as opened:
            again = await _get(client_a, path)
        assert opened[0] == 0 and again == await _get(client_a, path)
        for _ in range(2):  # kept for A: still a 404 for B
            assert (await client_b.get(path)).status_code == 404
    scope = "select current_setting('app.tenant_id', true), current_setting('app.user_id', true)"
    for statement, subject in (
        (company_page.PAGE_STATE, company),
        (edit_form.FORM_STATE, deal),
    ):

        async def state_then_scope(
            conn: Any, statement: str = statement, subject: uuid.UUID = subject
        ) -> tuple[list[Any], list[Any], tuple[Any, ...]]:
            mine = await conn.fetch(statement, tenant_a.tenant_id, tenant_a.user_id, subject)
            theirs = await conn.fetch(statement, tenant_b.tenant_id, tenant_b.user_id, subject)
            return mine, theirs, tuple(await conn.fetchrow(scope))

        mine, theirs, after = await self_scoped(
            tenant_a.tenant_id, tenant_a.user_id, state_then_scope
        )
        assert after in ((None, None), ("", ""))  # the scope ended with the statement
        assert len(mine) == 1 and next(iter(mine[0].values())) not in (None, False)
        assert theirs == [] or theirs[0]["is_there"] is False


@pytest.mark.parametrize(
    "content",
    [b"", b"no mark", CSRF_MARK.encode(), b"a" + CSRF_MARK.encode() * 2 + "é".encode() * 3],
)
def test_kept_markup_cut_at_its_marks_joins_as_with_csrf_replaces(content: bytes) -> None:
    for token in ("tok", "<\"&'>", ""):
        assert csrf_joined(csrf_split(content), token) == with_csrf(content, token)
