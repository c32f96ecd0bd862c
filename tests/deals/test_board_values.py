"""The board's values: column totals in the workspace currency (admins' exchange rates; deals
without a rate counted apart), win probabilities and weighted values, stale markers."""

from __future__ import annotations

from typing import Any

from tests.deals.helpers import make_deal, stages
from tests.deals.test_board import _column
from tests.helpers import Account, make_account


async def _currency(client: Any, default: str, rates: str, version: str = "1") -> Any:
    data = {"default_currency": default, "rates": rates, "version": version}
    return await client.post_form("/settings/company/currency", data)


async def test_totals_convert_currencies_and_weight_by_stage(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    saved = await _currency(client_a, "EUR", "USD 0.5\ngbp = 1,25\n\n")
    assert saved.status_code in (200, 303), saved.text[:500]
    settings = await client_a.get("/settings/company")
    assert "USD 0.5" in settings.text and "GBP 1.25" in settings.text
    s = await stages(tenant_a)
    await make_deal(tenant_a, "Euro deal", amount="1000", currency="EUR")
    await make_deal(tenant_a, "Dollar deal", amount="1000", currency="USD")  # 500 EUR
    await make_deal(tenant_a, "Pound deal", amount="100", currency="GBP")  # 125 EUR
    await make_deal(tenant_a, "Yen deal", amount="5000", currency="JPY")  # no rate
    await make_deal(tenant_a, "Big proposal", "Proposal", amount="2000", currency="EUR")
    await make_deal(tenant_a, "Closed", "Won", amount="300", currency="USD")
    await make_deal(tenant_b, "B secret", amount="99999", currency="EUR")

    board = (await client_a.get("/deals/board")).text
    lead = _column(board, s["Lead"].id)
    assert "1,625.00 EUR" in lead and "+ 1 in other currencies" in lead
    assert "10% · weighted 162.50 EUR" in lead
    assert "50% · weighted 1,000.00 EUR" in _column(board, s["Proposal"].id)
    won = _column(board, s["Won"].id)
    assert "150.00 EUR" in won and "weighted" not in won
    summary = board.split('id="board-summary"')[1].split("</p>")[0]
    assert "3,625.00 EUR" in summary and "1,162.50 EUR" in summary and "150.00 EUR" in summary
    assert "+ 1 open in other currencies" in summary
    assert "B secret" not in board and "99,999" not in board

    # workspace B: its own currency and no rates of A's
    b_settings = await client_b.get("/settings/company")
    assert "USD 0.5" not in b_settings.text
    b_board = (await client_b.get("/deals/board")).text
    assert "99,999.00 EUR" in b_board and "Dollar deal" not in b_board

    # an admin changes a stage's probability; a won stage stays at 100 whatever is sent
    changed = await client_a.post_form(
        f"/deals/stages/{s['Lead'].id}",
        {"name": "Lead", "kind": "open", "version": "1", "probability": "40"},
    )
    assert changed.status_code in (200, 303)
    await client_a.post_form(
        f"/deals/stages/{s['Won'].id}",
        {"name": "Won", "kind": "won", "version": "1", "probability": "30"},
    )
    after = await stages(tenant_a)
    assert after["Lead"].probability == 40 and after["Won"].probability == 100
    board = (await client_a.get("/deals/board")).text
    assert "40% · weighted 650.00 EUR" in _column(board, s["Lead"].id)
    bad = await client_a.post_form(
        f"/deals/stages/{s['Lead'].id}",
        {"name": "Lead", "kind": "open", "version": "2", "probability": "101"},
    )
    assert bad.status_code == 422 and "from 0 to 100" in bad.text

    # the default currency switched to USD: the pound deal has no rate to USD any more
    await _currency(client_a, "USD", "EUR 2", version="2")
    board = (await client_a.get("/deals/board")).text
    lead = _column(board, s["Lead"].id)
    assert "3,000.00 USD" in lead and "+ 2 in other currencies" in lead


async def test_currency_settings_refuse_hostile_input(client_a: Any, tenant_a: Account) -> None:
    cases = [
        ({"default_currency": "EU\x00R"}, "default_currency", "control character (U+0000)"),
        ({"default_currency": "X" * 100_000}, "default_currency", "Choose a currency"),
        ({"default_currency": "ZZZ"}, "default_currency", "Choose a currency from the list"),
        ({"rates": "USD\x000.9"}, "rates", "control character (U+0000)"),
        ({"rates": "USD 0.9\n" * 20_000}, "rates", "at most 5000 characters"),
        ({"rates": "USD nine"}, "rates", "Line 1: write a currency code and a rate"),
        ({"rates": "USD 0.9\nQQQ 1"}, "rates", "Line 2: QQQ is not a currency code"),
        ({"rates": "USD 0.9\nusd 0.8"}, "rates", "USD is listed twice"),
        ({"rates": "USD 0"}, "rates", "must be above 0"),
        ({"rates": "EUR 1"}, "rates", "EUR is the default currency"),
    ]
    for override, _field, message in cases:
        data = {"default_currency": "EUR", "rates": "", "version": "1", **override}
        response = await client_a.post_form("/settings/company/currency", data)
        assert response.status_code == 422, (override.keys(), response.status_code)
        assert message in response.text, (override.keys(), response.text[-3000:])
    settings = await client_a.get("/settings/company")
    assert "QQQ" not in settings.text
    # a stale page (someone saved meanwhile) is refused, not applied
    assert (await _currency(client_a, "EUR", "USD 0.9")).status_code in (200, 303)
    stale = await _currency(client_a, "GBP", "", version="1")
    assert stale.status_code == 422 and "changed the currency settings meanwhile" in stale.text


async def test_members_cannot_change_the_currency(app: Any, mailbox: Any) -> None:
    from tests.deals.helpers import add_colleague
    from tests.helpers import browser_client

    owner = await make_account("cur")
    member = await add_colleague(owner, mailbox)
    async with browser_client(app) as client:
        await client.login(member.email, member.password)
        refused = await _currency(client, "USD", "")
        assert refused.status_code == 403


async def _age(owner_conn: Any, account: Account, deal_id: Any, days: int) -> None:
    """Set a deal and its activity log `days` back (the log is append-only for the app: the
    schema owner does it, inside the tenant)."""
    await owner_conn.execute(
        "select set_config('app.tenant_id', $1, false)", str(account.tenant_id)
    )
    await owner_conn.execute(
        "update deals set updated_at = now() - make_interval(days => $2) where id = $1",
        deal_id,
        days,
    )
    await owner_conn.execute(
        "update activities set created_at = now() - make_interval(days => $2)"
        " where subject_type = 'deal' and subject_id = $1",
        deal_id,
        days,
    )


async def test_stale_marker_after_the_pipeline_limit(
    client_a: Any, tenant_a: Account, tenant_b: Account, owner_conn: Any
) -> None:
    s = await stages(tenant_a)
    idle = await make_deal(tenant_a, "Idle deal")
    fresh = await make_deal(tenant_a, "Fresh deal")
    won = await make_deal(tenant_a, "Won long ago", "Won")
    b_idle = await make_deal(tenant_b, "B idle")
    for account, deal_id in ((tenant_a, idle), (tenant_a, won), (tenant_b, b_idle)):
        await _age(owner_conn, account, deal_id, 20)
    board = (await client_a.get("/deals/board")).text
    lead = _column(board, s["Lead"].id)
    idle_card = lead.split(f'id="deal-{idle}"')[0].rsplit("<li", 1)[1]
    assert "deal-stale" in idle_card and 'data-stale-days="20"' in idle_card
    assert "Stale · 20 days" in lead.split(f'id="deal-{idle}"')[1].split("</li>")[0]
    assert "Stale" not in lead.split(f'id="deal-{fresh}"')[1].split("</li>")[0]
    assert "Stale" not in _column(board, s["Won"].id)  # closed deals are not stale
    assert "B idle" not in board

    # a note on the deal touches it
    await _age(owner_conn, tenant_a, fresh, 20)
    assert (
        "Stale · 20 days"
        in (await client_a.get("/deals/board"))
        .text.split(f'id="deal-{fresh}"')[1]
        .split("</li>")[0]
    )
    note = await client_a.post_form(f"/records/deal/{fresh}/notes", {"body": "Called, still keen"})
    assert note.status_code in (200, 303), note.status_code
    board = (await client_a.get("/deals/board")).text
    assert "Stale" not in board.split(f'id="deal-{fresh}"')[1].split("</li>")[0]

    # the pipeline's limit raised to 30 days: nothing is stale
    pipeline = board.split('data-pipeline-id="')[1].split('"')[0]
    raised = await client_a.post_form(
        f"/deals/pipelines/{pipeline}/rename",
        {"name": "Sales", "version": "1", "stale_days": "30"},
    )
    assert raised.status_code in (200, 303)
    assert "deal-stale" not in (await client_a.get("/deals/board")).text
    bad_values = {
        "0": "whole number from 1 to 365",
        "366": "whole number from 1 to 365",
        "x" * 100_000: "whole number from 1 to 365",
        "1\x00": "control character (U+0000)",
    }
    for bad, message in bad_values.items():
        refused = await client_a.post_form(
            f"/deals/pipelines/{pipeline}/rename",
            {"name": "Sales", "version": "2", "stale_days": bad},
        )
        assert refused.status_code == 422 and message in refused.text, bad[:10]


async def _board_queries(account: Account) -> int:
    """How many statements one board read sends (a query logger on the joined transaction)."""
    from app.core.db import tenant_transaction
    from app.deals import pipelines
    from tests.deals.helpers import current_of

    current = await current_of(account)
    sent: list[str] = []
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        conn.add_query_logger(lambda record: sent.append(record.query))
        try:
            board = await pipelines.load_board(current)
        finally:
            conn.remove_query_logger(sent.append)  # a no-op if not the same callable
    assert board.columns
    return len(sent)


async def test_the_board_reads_in_a_fixed_number_of_queries(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await _currency(client_a, "EUR", "USD 0.9")
    await make_deal(tenant_a, "One", currency="USD")
    few = await _board_queries(tenant_a)
    for index in range(30):
        await make_deal(tenant_a, f"Deal {index}", stage=("Lead", "Proposal", "Won")[index % 3])
    many = await _board_queries(tenant_a)
    assert few == many <= 10, (few, many)  # 7 statements, plus type introspection


async def test_the_summary_line_reads_again_after_a_move(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    s = await stages(tenant_a)
    deal = await make_deal(tenant_a, "Moving", amount="1000")
    board = (await client_a.get("/deals/board")).text
    pipeline = board.split('data-pipeline-id="')[1].split('"')[0]
    assert f'data-src="/deals/board/{pipeline}/summary"' in board
    moved = await client_a.post_form(
        f"/deals/{deal}/move", {"stage_id": str(s["Won"].id), "version": "1"}, htmx=True
    )
    assert moved.status_code == 200
    line = (
        await client_a.get(f"/deals/board/{pipeline}/summary", headers={"HX-Request": "true"})
    ).text
    assert "won <strong" in line and "1,000.00 EUR" in line and "<html" not in line
    other = await client_b.get(f"/deals/board/{pipeline}/summary")
    assert other.status_code == 404 and "1,000.00" not in other.text
