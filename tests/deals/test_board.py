"""Board moves with versions, refused moves that say why, and admins editing stages."""

from __future__ import annotations

import contextvars
import re
from typing import Any

from app.core import formats
from app.core.db import tenant_transaction
from app.deals import live
from app.deals.queries import fetch_columns
from tests.deals.helpers import current_of, make_deal, stages, version_of
from tests.helpers import Account


def _column(html: str, stage_id: Any) -> str:
    """The inner HTML of one stage column (from a page or an out-of-band fragment)."""
    parts = html.split(f'id="stage-{stage_id}"')
    assert len(parts) > 1, f"no column {stage_id}"
    return parts[1].split("</section>")[0]


def _order(column: str) -> list[str]:
    return re.findall(r'class="deal-title" href="/deals/[0-9a-f-]+">([^<]+)</a>', column)


async def _move(client: Any, deal_id: Any, stage_id: Any, version: int, **extra: str) -> Any:
    data = {"stage_id": str(stage_id), "version": str(version), **extra}
    return await client.post_form(f"/deals/{deal_id}/move", data, htmx=True)


async def test_move_between_and_within_stages(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await make_deal(tenant_b, "B stays put")
    s = await stages(tenant_a)
    first = await make_deal(tenant_a, "First")
    second = await make_deal(tenant_a, "Second")
    third = await make_deal(tenant_a, "Third")
    moved = await _move(client_a, second, s["Qualified"].id, 1, from_stage_id=str(s["Lead"].id))
    assert moved.status_code == 200 and "toast" not in moved.text
    assert 'hx-swap-oob="true"' in moved.text
    assert _order(_column(moved.text, s["Qualified"].id)) == ["Second"]
    assert _order(_column(moved.text, s["Lead"].id)) == ["First", "Third"]
    # within a stage: put Third on top, then First after Third
    await _move(client_a, third, s["Lead"].id, 1)
    await _move(client_a, first, s["Lead"].id, 1, after_id=str(third))
    board = await client_a.get("/deals/board")
    assert _order(_column(board.text, s["Lead"].id)) == ["Third", "First"]
    assert await version_of(tenant_a, second) == 2
    assert "B stays put" not in board.text


async def test_stale_move_is_refused_and_card_returns_to_server_position(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    s = await stages(tenant_a)
    deal = await make_deal(tenant_a, "Contested")
    assert (await _move(client_a, deal, s["Proposal"].id, 1)).status_code == 200
    # a second person, still holding version 1, drags it to Qualified
    stale = await _move(client_a, deal, s["Qualified"].id, 1, from_stage_id=str(s["Lead"].id))
    assert stale.status_code == 200 and stale.headers.get("x-odex-move") == "refused"
    assert "Someone else changed this deal" in stale.text
    assert "Contested" not in _column(stale.text, s["Qualified"].id)
    assert "Contested" in _column(stale.text, s["Proposal"].id)  # where the server has it
    assert "Contested" not in _column(stale.text, s["Lead"].id)
    assert await version_of(tenant_a, deal) == 2


async def test_moves_to_foreign_or_bad_stages_are_refused(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    from app.deals import pipelines

    s = await stages(tenant_a)
    foreign = (await stages(tenant_b))["Won"]
    deal = await make_deal(tenant_a, "Mine")
    their_deal = await make_deal(tenant_b, "Theirs")
    refused = await _move(client_a, deal, foreign.id, 1)
    assert refused.headers.get("x-odex-move") == "refused"
    assert "doesn&#39;t exist" in refused.text
    other_pipeline = await pipelines.create_pipeline(await current_of(tenant_a), "Renewals")
    other_stage = (await pipelines.stages_of(await current_of(tenant_a), other_pipeline))[0]
    cross = await _move(client_a, deal, other_stage.id, 1)
    assert "belongs to another pipeline" in cross.text
    lost = await _move(client_a, deal, s["Lost"].id, 1)
    assert "Say why the deal was lost" in lost.text
    assert "Mine" in _column(lost.text, s["Lead"].id)
    nonsense = await client_a.post_form(
        f"/deals/{deal}/move", {"stage_id": "x", "version": "abc"}, htmx=True
    )
    assert nonsense.status_code == 422 and "didn&#39;t make sense" in nonsense.text
    # tenant A can't move tenant B's deal at all: it doesn't exist for A
    theirs = await _move(client_a, their_deal, s["Won"].id, 1)
    assert "deleted" in theirs.text and await version_of(tenant_b, their_deal) == 1
    ok = await _move(client_a, deal, s["Lost"].id, 1, lost_reason="Chose a competitor")
    assert ok.headers.get("x-odex-move") is None
    assert "Lost: Chose a competitor" in _column(ok.text, s["Lost"].id)


async def test_admins_edit_stages_members_cannot(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    from tests.deals.helpers import add_colleague
    from tests.helpers import browser_client

    s = await stages(tenant_a)
    before_b = await stages(tenant_b)
    page = await client_a.get("/deals/pipelines")
    pipeline_id = re.search(r"/deals/pipelines/([0-9a-f-]+)/stages", page.text)
    assert pipeline_id
    added = await client_a.post_form(
        f"/deals/pipelines/{pipeline_id.group(1)}/stages", {"name": "Demo", "kind": "open"}
    )
    assert added.status_code == 303
    names = list(await stages(tenant_a))
    assert names.index("Demo") == names.index("Negotiation") + 1  # before the won/lost stages
    renamed = await client_a.post_form(
        f"/deals/stages/{s['Lead'].id}", {"name": "Inbound lead", "kind": "open", "version": "1"}
    )
    assert renamed.status_code == 303
    await client_a.post_form(f"/deals/stages/{s['Qualified'].id}/move", {"direction": "up"})
    names = list(await stages(tenant_a))
    assert names[:2] == ["Qualified", "Inbound lead"]
    await make_deal(tenant_a, "Blocker", stage="Proposal")
    blocked = await client_a.post_form(f"/deals/stages/{s['Proposal'].id}/delete", {"version": "1"})
    assert blocked.status_code == 422 and "still has 1 deal" in blocked.text
    bad = await client_a.post_form(
        f"/deals/stages/{s['Won'].id}", {"name": "", "kind": "maybe", "version": "1"}
    )
    assert bad.status_code == 422
    assert "Give it a name." in bad.text and "Choose open, won or lost." in bad.text
    stale = await client_a.post_form(
        f"/deals/stages/{s['Lead'].id}", {"name": "Old lead", "kind": "open", "version": "1"}
    )
    assert stale.status_code == 409 and "Saved meanwhile as “Inbound lead”" in stale.text
    demo = (await stages(tenant_a))["Demo"]
    deleted = await client_a.post_form(f"/deals/stages/{demo.id}/delete", {"version": "1"})
    assert deleted.status_code == 303
    assert "Demo" not in await stages(tenant_a)
    foreign = await client_a.post_form(
        f"/deals/stages/{before_b['Lead'].id}", {"name": "Hacked", "kind": "open", "version": "1"}
    )
    assert foreign.status_code == 404
    assert await stages(tenant_b) == before_b
    member = await add_colleague(tenant_a, mailbox)
    async with browser_client(app) as col:
        await col.login(member.email, member.password)
        assert (await col.get("/deals/pipelines")).status_code == 403
        refused = await col.post_form(
            f"/deals/stages/{s['Won'].id}", {"name": "Mine now", "kind": "won", "version": "1"}
        )
        assert refused.status_code == 403
        board = await col.get("/deals/board")
        assert "Blocker" in board.text  # members still work the board


async def test_the_movers_answer_is_the_pushed_markup_only_in_the_default_formats(
    tenant_a: Account,
) -> None:
    """A move renders its columns once for the push (default formats) and answers the mover
    with the same markup when the mover reads the defaults too; otherwise in their own."""
    s = await stages(tenant_a)
    await make_deal(tenant_a, "Priced", amount="1234.50")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        pipeline_id = s["Lead"].pipeline_id
        columns = await fetch_columns(conn, pipeline_id, only=[s["Lead"].id])

    def answer(time_zone: str | None, locale: str | None) -> tuple[str, str]:
        formats.use(time_zone, locale)
        return live.columns_answer(columns, live.broadcast_push(columns=columns)), (
            live.render_push(columns=columns)
        )

    pushed, own = contextvars.copy_context().run(answer, None, None)
    assert pushed == own and "Priced" in pushed
    pushed, own = contextvars.copy_context().run(answer, "Europe/Berlin", "de-DE")
    assert pushed == own and "1.234,50" in own
    assert own != live.broadcast_push(columns=columns)
