"""The board kept per process (app/deals/board_cache.py): reused while nothing it shows changed,
read again after any change of what it shows. Each change below is made alone (through the
app's services or routes, or one SQL statement as the app role when the service writes other
things too), so each test fails if that one source stopped bumping the board's version."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.accounts import services as accounts
from app.core.db import self_scoped, tally, tenant_transaction
from app.core.forms import parse
from app.crm import companies
from app.crm.activity import log_activity
from app.crm.schemas import CompanyEdit, CompanyForm
from app.crm.secure import seal_note
from app.deals import board_cache, services
from app.deals.schemas import DealEdit
from tests.deals.helpers import current_of, make_deal, stages, version_of
from tests.deals.test_board import _column, _order
from tests.deals.test_board_values import _age, _currency
from tests.helpers import Account, Counts, app_sql, clear_of_a_minute_turn, count_calls


@pytest.fixture(autouse=True)
async def _clear_of_a_minute_turn() -> None:
    """Each test starts at least 15 s before the minute turns (the kept markup's key)."""
    await clear_of_a_minute_turn()


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """How often the board page read and rendered the cards (kept boards dropped first)."""
    seen = Counts()
    count_calls(monkeypatch, seen, "reads", board_cache, "fetch_columns")
    count_calls(monkeypatch, seen, "renders", board_cache, "render_board")
    board_cache.forget_all()
    yield seen
    board_cache.forget_all()


async def _board(client: Any, query: str = "") -> str:
    page = await client.get(f"/deals/board{query}")
    assert page.status_code == 200, page.status_code
    return str(page.text)


def _card(board: str, deal_id: Any) -> str:
    return board.split(f'id="deal-{deal_id}"')[1].split("</li>")[0]


def _columns(board: str) -> str:
    """The kept part of a page: the totals line up to the end of the columns."""
    return board.split('id="board-summary"')[1].split('id="board-keys"')[0]


async def _changed(client: Any, counts: Counts, before: str) -> str:
    """The board read again (and rendered again) after a change; its kept part differs."""
    renders = counts.renders
    after = await _board(client)
    assert counts.renders == renders + 1
    assert _columns(after) != _columns(before)
    return after


async def test_a_second_load_reuses_the_kept_board(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    for n in range(3):
        await make_deal(tenant_a, f"Deal {n}")
    first = await _board(client_a)
    assert counts.reads == 1 and counts.renders == 1
    second = await _board(client_a)
    third = await _board(client_a)
    assert counts.reads == 1 and counts.renders == 1  # no BOARD_HEAD/BOARD_CARDS, no render
    assert first == second == third
    summary = await client_a.get(f"/deals/board/{_pipeline(first)}/summary")
    assert counts.reads == 1 and summary.status_code == 200
    line = '<p class="board-summary' + first.split('<p class="board-summary')[1].split("</p>")[0]
    assert summary.text.strip() == line + "</p>"
    # the kept markup is what a fresh render writes
    board_cache.forget_all()
    assert await _board(client_a) == first
    assert counts.reads == 2


async def test_a_kept_board_costs_no_transaction_and_its_read_leaves_no_scope(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    """A kept board page reads its versions in one self-scoped statement (no BEGIN, no COMMIT;
    the signed-in check is one too): nothing of the scope survives on the pooled connection,
    and another workspace's pipelines are never among the rows, whoever asks."""
    await make_deal(tenant_a, "A deal")
    await make_deal(tenant_b, "B deal")
    first = await _board(client_a)
    with tally() as opened:
        assert await _board(client_a) == first
    assert opened[0] == 0 and counts.renders == 1
    scope = "select current_setting('app.tenant_id', true), current_setting('app.user_id', true)"

    async def pipelines_then_scope(conn: Any) -> tuple[list[Any], tuple[Any, ...]]:
        rows = await conn.fetch(board_cache.BOARD_PIPELINES, tenant_a.tenant_id, tenant_a.user_id)
        return rows, tuple(await conn.fetchrow(scope))

    rows, after = await self_scoped(tenant_a.tenant_id, tenant_a.user_id, pipelines_then_scope)
    assert [str(r["id"]) for r in rows] == [_pipeline(first)]
    assert after in ((None, None), ("", ""))
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        b_ids = {r["id"] for r in await conn.fetch("select id from pipelines")}
    assert b_ids and not b_ids & {r["id"] for r in rows}


def _pipeline(board: str) -> str:
    return board.split('id="board-root" class="board-root" data-pipeline-id="')[1].split('"')[0]


async def test_deals_created_edited_moved_and_deleted(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    s = await stages(tenant_a)
    deal = await make_deal(tenant_a, "Kept deal")
    board = await _board(client_a)
    other = await make_deal(tenant_a, "Second deal")
    board = await _changed(client_a, counts, board)
    assert "Second deal" in _column(board, s["Lead"].id)
    # an edit (the service) and a change of the row alone
    edit = {"title": "Renamed deal", "amount": "1000", "currency": "EUR", "version": "1"}
    edit["stage_id"] = str(s["Lead"].id)
    await services.update_deal(await current_of(tenant_a), deal, parse(DealEdit, edit))
    board = await _changed(client_a, counts, board)
    assert "Renamed deal" in _card(board, deal)
    await app_sql(tenant_a, "update deals set amount = 777 where id = $1", deal)
    board = await _changed(client_a, counts, board)
    assert "777.00 EUR" in _card(board, deal)
    # a move on the board
    version = await version_of(tenant_a, deal)
    moved = await client_a.post_form(
        f"/deals/{deal}/move", {"stage_id": str(s["Proposal"].id), "version": str(version)}
    )
    assert moved.status_code == 200 and "toast" not in moved.text
    board = await _changed(client_a, counts, board)
    assert _order(_column(board, s["Proposal"].id)) == ["Renamed deal"]
    # a delete
    await services.delete_deal(await current_of(tenant_a), other, 1)
    board = await _changed(client_a, counts, board)
    assert "Second deal" not in board


async def test_stages_and_the_pipeline(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, owner_conn: Any
) -> None:
    s = await stages(tenant_a)
    await make_deal(tenant_a, "Staged deal")
    idle = await make_deal(tenant_a, "Idle deal", "Proposal")
    board = await _board(client_a)
    lead = f"/deals/stages/{s['Lead'].id}"
    renamed = {"name": "Prospect", "kind": "open", "version": "1", "probability": "10"}
    assert (await client_a.post_form(lead, renamed)).status_code in (200, 303)
    board = await _changed(client_a, counts, board)
    assert 'aria-label="Stage Prospect"' in board
    chance = {"name": "Prospect", "kind": "open", "version": "2", "probability": "40"}
    assert (await client_a.post_form(lead, chance)).status_code in (200, 303)
    board = await _changed(client_a, counts, board)
    assert "40% · weighted 400.00 EUR" in _column(board, s["Lead"].id)
    kind = {"name": "Prospect", "kind": "won", "version": "3", "probability": "40"}
    assert (await client_a.post_form(lead, kind)).status_code in (200, 303)
    board = await _changed(client_a, counts, board)
    assert "board-column-won" in board.split(f'id="stage-{s["Lead"].id}"')[0].rsplit("<", 1)[1]
    # the stages' order
    qualified = f"/deals/stages/{s['Qualified'].id}/move"
    assert (await client_a.post_form(qualified, {"direction": "down"})).status_code in (200, 303)
    board = await _changed(client_a, counts, board)
    assert board.index(f'id="stage-{s["Proposal"].id}"') < board.index(
        f'id="stage-{s["Qualified"].id}"'
    )
    # the pipeline's stale limit (read beside its version)
    await _age(owner_conn, tenant_a, idle, 20)
    board = await _changed(client_a, counts, board)
    assert "Stale · 20 days" in _card(board, idle)
    limit = {"name": "Sales", "version": "1", "stale_days": "30"}
    raised = await client_a.post_form(f"/deals/pipelines/{_pipeline(board)}/rename", limit)
    assert raised.status_code in (200, 303)
    board = await _changed(client_a, counts, board)
    assert "Stale" not in board


async def test_a_deals_tasks_notes_and_activities(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, owner_conn: Any
) -> None:
    deal = await make_deal(tenant_a, "Busy deal")
    board = await _board(client_a)
    assert "No next activity" in _card(board, deal)
    task = uuid.uuid4()
    await app_sql(
        tenant_a,
        "insert into tasks (id, tenant_id, subject_type, subject_id, title, kind, due_date)"
        " values ($1, $2, 'deal', $3, 'Call the buyer', 'call', current_date - 1)",
        task,
        tenant_a.tenant_id,
        deal,
    )
    board = await _changed(client_a, counts, board)
    assert "Call the buyer" in _card(board, deal) and "Overdue" in _card(board, deal)
    await app_sql(tenant_a, "update tasks set done_at = now() where id = $1", task)
    board = await _changed(client_a, counts, board)
    assert "No next activity" in _card(board, deal)
    await app_sql(tenant_a, "update tasks set done_at = null where id = $1", task)
    board = await _changed(client_a, counts, board)
    await app_sql(tenant_a, "delete from tasks where id = $1", task)
    board = await _changed(client_a, counts, board)
    assert "Call the buyer" not in board

    # "stale" is decided by the newest note and activity too
    await _age(owner_conn, tenant_a, deal, 20)
    board = await _changed(client_a, counts, board)
    assert "Stale · 20 days" in _card(board, deal)
    note = uuid.uuid4()
    await app_sql(
        tenant_a,
        "insert into notes (id, tenant_id, subject_type, subject_id, body_enc)"
        " values ($1, $2, 'deal', $3, $4)",
        note,
        tenant_a.tenant_id,
        deal,
        seal_note("Still keen", tenant_a.tenant_id, note),
    )
    board = await _changed(client_a, counts, board)
    assert "Stale" not in _card(board, deal)
    await app_sql(tenant_a, "delete from notes where id = $1", note)
    board = await _changed(client_a, counts, board)
    assert "Stale · 20 days" in _card(board, deal)
    current = await current_of(tenant_a)
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id):
        await log_activity(current, "deal", deal, "note", "phoned")
    board = await _changed(client_a, counts, board)
    assert "Stale" not in _card(board, deal)
    # a note on something else leaves the board as it was
    await make_deal(tenant_b, "B deal")
    other = uuid.uuid4()
    await app_sql(
        tenant_a,
        "insert into notes (id, tenant_id, subject_type, subject_id, body_enc)"
        " values ($1, $2, 'company', $3, $4)",
        other,
        tenant_a.tenant_id,
        uuid.uuid4(),
        seal_note("About a company", tenant_a.tenant_id, other),
    )
    renders = counts.renders
    assert await _board(client_a) == board and counts.renders == renders


async def test_company_and_owner_names(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    current = await current_of(tenant_a)
    company = await companies.create_company(current, parse(CompanyForm, {"name": "Acme"}))
    deal = await make_deal(tenant_a, "Named deal", company_id=company, owner_id=tenant_a.user_id)
    board = await _board(client_a)
    assert "Acme" in _card(board, deal) and tenant_a.name in _card(board, deal)
    edit = parse(CompanyEdit, {"name": "Acme Worldwide", "version": "1"})
    await companies.update_company(current, company, edit)
    board = await _changed(client_a, counts, board)
    assert "Acme Worldwide" in _card(board, deal)
    await accounts.update_profile(current, "Renamed Owner")
    board = await _changed(client_a, counts, board)
    assert "Renamed Owner" in _card(board, deal)


async def test_exchange_rates_and_the_workspace_currency(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    assert (await _currency(client_a, "EUR", "USD 0.5")).status_code in (200, 303)
    await make_deal(tenant_a, "Dollar deal", amount="1000", currency="USD")
    board = await _board(client_a)
    assert "500.00 EUR" in board
    await app_sql(tenant_a, "update exchange_rates set rate = 0.8 where currency = 'USD'")
    board = await _changed(client_a, counts, board)
    assert "800.00 EUR" in board
    await app_sql(tenant_a, "delete from exchange_rates")
    board = await _changed(client_a, counts, board)
    assert "+ 1 in other currencies" in board
    await app_sql(
        tenant_a,
        "insert into exchange_rates (tenant_id, currency, rate) values ($1, 'USD', 2)",
        tenant_a.tenant_id,
    )
    board = await _changed(client_a, counts, board)
    assert "2,000.00 EUR" in board
    await app_sql(tenant_a, "update tenants set default_currency = 'USD'")
    board = await _changed(client_a, counts, board)
    assert "1,000.00 USD" in board


async def test_another_workspace_and_its_kept_board(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    await make_deal(tenant_a, "A deal")
    await make_deal(tenant_b, "B secret")
    a_board, b_board = await _board(client_a), await _board(client_b)
    assert "B secret" not in a_board and "A deal" not in b_board
    b_pipeline = _pipeline(b_board)
    for _ in range(2):  # B's board is kept now: A still gets a 404 for its id
        refused = await client_a.get(f"/deals/board?pipeline={b_pipeline}")
        assert refused.status_code == 404 and "B secret" not in refused.text
        refused = await client_a.get(f"/deals/board/{b_pipeline}/summary")
        assert refused.status_code == 404
    # a change in B bumps B's board only
    renders = counts.renders
    await make_deal(tenant_b, "B second")
    assert await _board(client_a) == a_board and counts.renders == renders
    assert "B second" in await _board(client_b)


async def test_kept_for_one_minute_and_bounded(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, monkeypatch: Any
) -> None:
    await make_deal(tenant_a, "Timely deal")
    board = await _board(client_a)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        minute = await conn.fetchval("select floor(extract(epoch from now()) / 60)::bigint")
    (key,) = board_cache._kept
    assert key.minute in (minute - 1, minute)
    # the same board read in another minute is read and rendered again
    board_cache._kept[key._replace(minute=key.minute - 1)] = board_cache._kept.pop(key)
    assert await _board(client_a) == board and counts.renders == 2
    # at most KEPT_BOARDS boards per process
    monkeypatch.setattr(board_cache, "KEPT_BOARDS", 2)
    for n in range(3):
        await make_deal(tenant_a, f"More {n}", amount=str(n + 1))
        await _board(client_a)
    assert board_cache.kept_boards() == 2


async def test_board_versions_are_invisible_and_unwritable_to_another_workspace(
    client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """A's board counters under B's scope: not seen, not bumped, not forged (RLS forced)."""
    await make_deal(tenant_a, "A deal")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        a_pipeline, a_version = await conn.fetchrow(
            "select pipeline_id, version from board_versions limit 1"
        )
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        seen = await conn.fetch("select pipeline_id from board_versions")
        assert a_pipeline not in [r["pipeline_id"] for r in seen] and seen  # B's own only
        bumped = await conn.execute(
            "update board_versions set version = version + 100 where pipeline_id = $1",
            a_pipeline,
        )
        assert bumped == "UPDATE 0"
    with pytest.raises(Exception, match="row-level security"):
        async with tenant_transaction(tenant_b.tenant_id) as conn:
            await conn.execute(
                "insert into board_versions (pipeline_id, tenant_id) values ($1, $2)",
                uuid.uuid4(),
                tenant_a.tenant_id,
            )
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert (
            await conn.fetchval(
                "select version from board_versions where pipeline_id = $1", a_pipeline
            )
            == a_version
        )
