"""The dashboard's workspace figures kept per process (app/crm/dashboard.py): reused while
nothing they show changed, read again after any change of what they show. Each change below
is made alone (one SQL statement as the app role, where the service would also write a
timeline entry, which bumps the version by itself), so each test fails if that one source
stopped bumping the workspace's dashboard version. What is per person (my tasks, the
checklist) or one indexed row (the record counts) is read on every page."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from app.accounts import services as accounts
from app.core.db import tenant_transaction
from app.core.forms import parse
from app.crm import dashboard
from app.crm.activity import log_activity
from app.crm.secure import seal_note
from app.deals import pipelines, services
from app.deals.schemas import DealEdit
from tests.crm.test_records import make_company
from tests.deals.helpers import add_colleague, current_of, make_deal, stages, version_of
from tests.helpers import Account, Counts, Mailbox, app_sql, count_calls, until_a_lock_is_waited
from tests.invoices.test_invoices import make_invoice


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """How often a dashboard read the workspace's figures (kept figures dropped first)."""
    seen = Counts()
    count_calls(monkeypatch, seen, "reads", dashboard, "read_figures")
    dashboard.forget_all()
    yield seen
    dashboard.forget_all()


async def _page(client: Any) -> str:
    page = await client.get("/app")
    assert page.status_code == 200, page.status_code
    return html.unescape(str(page.text))


def _stat(page: str, label: str) -> str:
    """A stat card's text (label and figure), tags dropped."""
    card = page.split(label, 1)[1].split("</div></div>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", label + card).split())


def _recent(page: str) -> str:
    return page.split("Recent activity", 1)[1]


def _tasks(page: str) -> str:
    return page.split("My open tasks", 1)[1].split("Recent activity", 1)[0]


async def _changed(client: Any, counts: Counts, before: str) -> str:
    """The dashboard read again after a change; it differs."""
    reads = counts.reads
    after = await _page(client)
    assert counts.reads == reads + 1, "the kept figures were shown after a change"
    assert after != before
    return after


async def _kept(client: Any, counts: Counts, before: str) -> str:
    """The dashboard with the kept figures (nothing they show changed)."""
    reads = counts.reads
    after = await _page(client)
    assert counts.reads == reads
    return after


async def test_a_second_load_reuses_the_kept_figures(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    await make_deal(tenant_a, "Kept deal", amount="1234")
    first = await _page(client_a)
    assert counts.reads == 1 and "1,234.00" in _stat(first, "Open pipeline")
    assert await _kept(client_a, counts, first) == first
    dashboard.forget_all()  # what was kept is what a fresh read shows
    assert await _page(client_a) == first and counts.reads == 2


async def test_deals_created_edited_moved_won_and_deleted(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    s = await stages(tenant_a)
    await make_company(client_a, "Acme")  # not an empty workspace once the deals are gone
    deal = await make_deal(tenant_a, "Kept deal", amount="1000")
    page = await _page(client_a)
    assert "1 deal " in _stat(page, "Open pipeline") + " "
    # a new row alone (no timeline entry)
    copy = uuid.uuid4()
    await app_sql(
        tenant_a,
        "insert into deals (id, tenant_id, title, amount, currency, pipeline_id, stage_id,"
        " position) select $2, tenant_id, 'Copied deal', 500, currency, pipeline_id,"
        " stage_id, position + 1 from deals where id = $1",
        deal,
        copy,
    )
    page = await _changed(client_a, counts, page)
    assert "2 deals" in _stat(page, "Open pipeline") and "1,500.00" in page
    # an edit of the row alone, and through the service
    await app_sql(tenant_a, "update deals set amount = 777 where id = $1", copy)
    page = await _changed(client_a, counts, page)
    assert "1,777.00" in _stat(page, "Open pipeline")
    await app_sql(tenant_a, "update deals set currency = 'USD' where id = $1", copy)
    page = await _changed(client_a, counts, page)
    assert "USD" in _stat(page, "Open pipeline")
    edit = {"title": "Kept deal", "amount": "2000", "currency": "EUR", "version": "1"}
    edit["stage_id"] = str(s["Lead"].id)
    await services.update_deal(await current_of(tenant_a), deal, parse(DealEdit, edit))
    page = await _changed(client_a, counts, page)
    assert "2,000.00" in _stat(page, "Open pipeline")
    # a move on the board, to another open stage, then to a won one
    moved = await client_a.post_form(
        f"/deals/{deal}/move",
        {"stage_id": str(s["Proposal"].id), "version": str(await version_of(tenant_a, deal))},
    )
    assert moved.status_code == 200 and "toast" not in moved.text
    page = await _changed(client_a, counts, page)
    won = next(st for st in s.values() if st.kind == "won")
    await app_sql(tenant_a, "update deals set stage_id = $2 where id = $1", deal, won.id)
    page = await _changed(client_a, counts, page)
    assert "2,000.00" in _stat(page, "Won this month")
    assert "1 deal " in _stat(page, "Open pipeline") + " "
    # won, but last month (the row alone: its time), then this month again
    for when, shown in (("date_trunc('month', now()) - interval '1 day'", False), ("now()", True)):
        await app_sql(tenant_a, f"update deals set updated_at = {when} where id = $1", deal)
        page = await _changed(client_a, counts, page)
        assert ("2,000.00" in _stat(page, "Won this month")) is shown
    # a delete of the row alone, and through the service
    await app_sql(tenant_a, "delete from deals where id = $1", deal)
    page = await _changed(client_a, counts, page)
    assert "2,000.00" not in _stat(page, "Won this month")
    await services.delete_deal(await current_of(tenant_a), copy, await version_of(tenant_a, copy))
    page = await _changed(client_a, counts, page)
    assert "Open pipeline · 0 deals" in page


async def test_a_stages_kind(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    s = await stages(tenant_a)
    await make_company(client_a, "Acme")  # not an empty workspace without open deals
    await make_deal(tenant_a, "Staged deal", amount="300")
    page = await _page(client_a)
    assert "300.00" in _stat(page, "Open pipeline")
    await app_sql(tenant_a, "update stages set kind = 'won' where id = $1", s["Lead"].id)
    page = await _changed(client_a, counts, page)
    assert "300.00" in _stat(page, "Won this month") and "300.00" not in _stat(
        page, "Open pipeline"
    )
    await app_sql(tenant_a, "update stages set kind = 'open' where id = $1", s["Lead"].id)
    page = await _changed(client_a, counts, page)
    assert "300.00" in _stat(page, "Open pipeline")


async def test_invoices_sent_overdue_paid_and_removed(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    from app.invoices.jobs import mark_overdue_invoices

    company = await make_company(client_a, "Stark Industries")
    invoice = uuid.UUID(await make_invoice(client_a, company, ("Arc reactor", "1", "10", "0")))
    page = await _page(client_a)
    assert _stat(page, "Unpaid invoices").endswith("Unpaid invoices 0")
    await app_sql(tenant_a, "update invoices set status = 'sent' where id = $1", invoice)
    page = await _changed(client_a, counts, page)
    assert _stat(page, "Unpaid invoices").endswith("Unpaid invoices 1")
    # the overdue job (in each workspace's scope)
    await app_sql(
        tenant_a,
        "update invoices set issue_date = current_date - 40, due_date = current_date - 1"
        " where id = $1",
        invoice,
    )
    page = await _kept(client_a, counts, page)  # the dates alone show nowhere on it
    assert await mark_overdue_invoices() >= 1
    page = await _changed(client_a, counts, page)
    assert "1 overdue" in _stat(page, "Unpaid invoices")
    await app_sql(tenant_a, "update invoices set status = 'paid' where id = $1", invoice)
    page = await _changed(client_a, counts, page)
    assert _stat(page, "Unpaid invoices").endswith("Unpaid invoices 0")
    # a row added as sent, and removed
    added = uuid.uuid4()
    await app_sql(
        tenant_a,
        "insert into invoices (id, tenant_id, number, company_id, status, due_date, issue_date,"
        " total, created_by) values ($1, $2, 99, $3, 'sent', current_date + 30, current_date,"
        " 10, $4)",
        added,
        tenant_a.tenant_id,
        uuid.UUID(company),
        tenant_a.user_id,
    )
    page = await _changed(client_a, counts, page)
    assert _stat(page, "Unpaid invoices").endswith("Unpaid invoices 1")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        can_delete = await conn.fetchval("select has_table_privilege('invoices', 'delete')")
    if can_delete:  # the purge's path
        await app_sql(tenant_a, "delete from invoices where id = $1", added)
        page = await _changed(client_a, counts, page)
        assert _stat(page, "Unpaid invoices").endswith("Unpaid invoices 0")


async def test_recent_activity_and_its_actors_names(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    await make_deal(tenant_a, "Busy deal")
    page = await _page(client_a)
    current = await current_of(tenant_a)
    company = uuid.uuid4()
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id):
        await log_activity(current, "company", company, "note", "phoned the buyer")
    page = await _changed(client_a, counts, page)
    assert "phoned the buyer" in _recent(page) and tenant_a.name in _recent(page)
    # the entry's text changed alone (erasure, a merge)
    await app_sql(
        tenant_a,
        "update activities set summary = 'erased entry' where subject_id = $1",
        company,
    )
    page = await _changed(client_a, counts, page)
    assert "erased entry" in _recent(page) and "phoned the buyer" not in page
    # the actor's name (a global row: the epoch)
    await accounts.update_profile(current, "Renamed Actor")
    page = await _changed(client_a, counts, page)
    assert "Renamed Actor" in _recent(page)


async def test_per_person_parts_are_read_every_time(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, mailbox: Mailbox
) -> None:
    """My tasks, the checklist and the record counts: never from another person's page."""
    await make_deal(tenant_a, "Task deal")
    company = uuid.uuid4()  # a task on a deal would bump its board, and so the dashboard
    colleague = await add_colleague(tenant_a, mailbox)
    page = await _page(client_a)
    reads = counts.reads
    task = uuid.uuid4()
    await app_sql(
        tenant_a,
        "insert into tasks (id, tenant_id, subject_type, subject_id, title, due_date,"
        " assignee_id) values ($1, $2, 'company', $3, 'Call the buyer', current_date - 1, $4)",
        task,
        tenant_a.tenant_id,
        company,
        colleague.user_id,
    )
    page = await _page(client_a)
    assert "Call the buyer" not in _tasks(page)  # the colleague's, not mine
    await app_sql(
        tenant_a, "update tasks set assignee_id = $2 where id = $1", task, tenant_a.user_id
    )
    page = await _page(client_a)
    assert "Call the buyer" in _tasks(page) and "text-danger" in _tasks(page)  # overdue
    await app_sql(tenant_a, "update tasks set done_at = now() where id = $1", task)
    page = await _page(client_a)
    assert "Call the buyer" not in _tasks(page)
    await client_a.post_form("/contacts/new", {"first_name": "Ada", "last_name": "Lovelace"})
    page = await _page(client_a)
    assert "1 · 0" in _stat(page, "Contacts · companies")
    assert counts.reads == reads + 1  # the contact's timeline entry; the tasks bump nothing


async def test_another_workspace_and_its_kept_figures(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    """Each workspace's figures under its own key, even at the same version numbers."""
    await make_deal(tenant_a, "A deal", amount="1111")
    await make_deal(tenant_b, "B secret", amount="2222")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        a_version = await conn.fetchval("select version from dashboard_versions")
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        b_version = await conn.fetchval("select version from dashboard_versions")
    assert a_version == b_version  # the same key but for the workspace
    for _ in range(2):
        a_page, b_page = await _page(client_a), await _page(client_b)
        assert "1,111.00" in a_page and "A deal" in a_page
        assert "2,222.00" not in a_page and "B secret" not in a_page
        assert "2,222.00" in b_page and "B secret" in b_page
        assert "1,111.00" not in b_page and "A deal" not in b_page
    assert counts.reads == 2 and dashboard.kept_figures() == 2
    # a change in B bumps B's version only
    await make_deal(tenant_b, "B second")
    assert await _kept(client_a, counts, a_page) == a_page
    assert "B second" in await _page(client_b) and counts.reads == 3


async def test_kept_for_the_readers_month_and_bounded(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, monkeypatch: Any
) -> None:
    await make_deal(tenant_a, "Timely deal")
    page = await _page(client_a)
    (key,) = dashboard._kept
    assert key.month_start.day == 1 and key.month_start <= date.today()
    # the same figures in another month are read again
    dashboard._kept[key._replace(month_start=date(2000, 1, 1))] = dashboard._kept.pop(key)
    dashboard._contents.clear()  # the rendered content is kept for the reader's day too
    assert await _page(client_a) == page and counts.reads == 2
    # at most KEPT_FIGURES workspaces' figures per process
    monkeypatch.setattr(dashboard, "KEPT_FIGURES", 2)
    for n in range(3):
        await make_deal(tenant_a, f"More {n}", amount=str(n + 1))
        await _page(client_a)
    assert dashboard.kept_figures() == 2


async def test_dashboard_versions_are_invisible_and_unwritable_to_another_workspace(
    client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """A's counter under B's scope: not seen, not bumped, not forged (RLS forced)."""
    await make_deal(tenant_a, "A deal")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        a_version = await conn.fetchval("select version from dashboard_versions")
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        seen = await conn.fetch("select tenant_id from dashboard_versions")
        assert [r["tenant_id"] for r in seen] == [tenant_b.tenant_id]
        bumped = await conn.execute(
            "update dashboard_versions set version = version + 100 where tenant_id = $1",
            tenant_a.tenant_id,
        )
        assert bumped == "UPDATE 0"
    with pytest.raises(Exception, match="row-level security"):
        async with tenant_transaction(tenant_b.tenant_id) as conn:
            await conn.execute(
                "insert into dashboard_versions (tenant_id) values ($1)", uuid.uuid4()
            )
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select version from dashboard_versions") == a_version


async def test_a_boards_bump_bumps_the_dashboard_first(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    """The lock order at commit (migrations/invoices, 1.45.0): anything that bumps a board bumps
    its workspace's dashboard version too, before the board's, once per transaction."""
    deal = await make_deal(tenant_a, "Noted deal")

    async def versions() -> tuple[int, int]:
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            row = await conn.fetchrow(
                "select (select version from dashboard_versions) as dashboard,"
                " (select sum(version) from board_versions) as boards"
            )
        return int(row["dashboard"]), int(row["boards"])

    before = await versions()
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
        for _ in range(3):  # a note on a deal: the board's triggers only
            note = uuid.uuid4()
            await conn.execute(
                "insert into notes (id, tenant_id, subject_type, subject_id, body_enc)"
                " values ($1, $2, 'deal', $3, $4)",
                note,
                tenant_a.tenant_id,
                deal,
                seal_note("Still keen", tenant_a.tenant_id, note),
            )
    assert await versions() == (before[0] + 1, before[1] + 1)


async def test_two_commits_over_two_boards_never_deadlock(
    tenant_a: Account, tenant_b: Account, owner_conn: Any
) -> None:
    """A changes a deal on board 1 and then one on board 2; B another on board 2 in between. Their
    bumps (fired early here by SET CONSTRAINTS, as a commit fires them) take the workspace's
    dashboard row first: B waits for A holding no board, A finishes, then B (no deadlock)."""
    current = await current_of(tenant_a)
    first = await make_deal(tenant_a, "On the first board")
    second = await make_deal(tenant_a, "On the second board")
    third = await make_deal(tenant_a, "Also on the second board")
    other = await pipelines.create_pipeline(current, "Renewals")
    stage = (await pipelines.stages_of(current, other))[0]
    await app_sql(
        tenant_a,
        "update deals set pipeline_id = $2, stage_id = $3 where id = any($1::uuid[])",
        [second, third],
        other,
        stage.id,
    )
    a_bumped, a_go = asyncio.Event(), asyncio.Event()

    async def bump(conn: Any, deal: uuid.UUID) -> None:
        await conn.execute("update deals set amount = amount + 1 where id = $1", deal)
        await conn.execute("set constraints all immediate")  # the bumps now, as at commit

    async def writer_a() -> None:
        async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
            await bump(conn, first)
            a_bumped.set()
            await a_go.wait()
            await bump(conn, second)

    async def writer_b() -> None:
        await a_bumped.wait()
        async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
            await bump(conn, third)

    writers = asyncio.gather(writer_a(), writer_b())
    await a_bumped.wait()
    await until_a_lock_is_waited(owner_conn, "B")
    a_go.set()
    await asyncio.wait_for(writers, 20)  # a deadlock would fail one of them
