"""Where a board move puts a card: after the card asked for, at the top, in an empty stage, at
the bottom when that card left; a spent gap renumbers the stage; and a move waiting for the
board's lock places the card among the cards the move before it left."""

from __future__ import annotations

import asyncio
from uuid import UUID

from app.core.db import tenant_transaction
from app.deals.moves import move_deal
from app.deals.positions import POSITION_GAP
from app.deals.queries import lock_board
from tests.deals.helpers import current_of, make_deal, stages
from tests.helpers import Account


async def _positions(account: Account, stage_id: UUID) -> list[tuple[UUID, float]]:
    async with tenant_transaction(account.tenant_id) as conn:
        rows = await conn.fetch(
            "select id, position from deals where stage_id = $1 order by position, id", stage_id
        )
    return [(r["id"], r["position"]) for r in rows]


async def _order(account: Account, stage_id: UUID) -> list[UUID]:
    return [deal for deal, _ in await _positions(account, stage_id)]


async def test_a_move_lands_where_it_was_asked(tenant_a: Account, tenant_b: Account) -> None:
    s = await stages(tenant_a)
    won = s["Won"].id
    current = await current_of(tenant_a)
    one, two, three = [await make_deal(tenant_a, t) for t in ("One", "Two", "Three")]
    theirs = await make_deal(tenant_b, "Theirs")
    # into an empty stage
    assert (await move_deal(current, one, won, 1)).ok
    assert await _positions(tenant_a, won) == [(one, POSITION_GAP)]
    # at the top of a stage (no card to follow)
    assert (await move_deal(current, two, won, 1)).ok
    assert await _order(tenant_a, won) == [two, one]
    # after the last card, then between two cards (the middle of their gap)
    assert (await move_deal(current, three, won, 1, after_id=one)).ok
    assert await _order(tenant_a, won) == [two, one, three]
    assert (await move_deal(current, three, won, 2, after_id=two)).ok
    placed = dict(await _positions(tenant_a, won))
    assert placed[three] == (placed[two] + placed[one]) / 2
    # after a card that is not in that stage (it left meanwhile): the bottom
    four = await make_deal(tenant_a, "Four")
    assert (await move_deal(current, four, won, 1, after_id=four)).ok  # itself
    assert await _order(tenant_a, won) == [two, three, one, four]
    five = await make_deal(tenant_a, "Five")
    assert (await move_deal(current, five, won, 1, after_id=theirs)).ok  # another workspace's
    assert await _order(tenant_a, won) == [two, three, one, four, five]
    # within its own stage, after a card below it
    assert (await move_deal(current, two, won, 2, after_id=four)).ok
    assert await _order(tenant_a, won) == [three, one, four, two, five]
    assert (await _positions(tenant_b, s["Won"].id)) == []  # (tenant A's stage: not B's)


async def test_a_spent_gap_renumbers_the_stage(tenant_a: Account, tenant_b: Account) -> None:
    s = await stages(tenant_a)
    lead = s["Lead"].id
    current = await current_of(tenant_a)
    first, second, mover = [await make_deal(tenant_a, t) for t in ("First", "Second", "Mover")]
    their = await make_deal(tenant_b, "Theirs")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("update deals set position = 5.0 where id = $1", first)
        await conn.execute("update deals set position = 5.0000000001 where id = $1", second)
        await conn.execute("update deals set position = 9.0 where id = $1", mover)
    # a move refused (into a lost stage without a reason) renumbers nothing
    lost = s["Lost"].id
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("update deals set stage_id = $2 where id = $1", second, lost)
        await conn.execute("update deals set stage_id = $2 where id = $1", first, lost)
    refused = await move_deal(current, mover, lost, 1, after_id=first)
    assert not refused.ok and "lost" in refused.message
    assert await _positions(tenant_a, lost) == [(first, 5.0), (second, 5.0000000001)]
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("update deals set stage_id = $2 where stage_id = $1", lost, lead)
    assert (await move_deal(current, mover, lead, 1, after_id=first)).ok
    placed = await _positions(tenant_a, lead)
    assert [deal for deal, _ in placed] == [first, mover, second]
    assert placed[0][1] == POSITION_GAP and placed[2][1] == 2 * POSITION_GAP  # renumbered
    assert placed[1][1] == 1.5 * POSITION_GAP
    async with tenant_transaction(tenant_b.tenant_id) as conn:  # the other workspace untouched
        assert await conn.fetchval("select position from deals where id = $1", their) != 0


async def test_a_move_waiting_for_the_board_places_after_the_move_before_it(
    tenant_a: Account,
) -> None:
    """The place is read after the board's lock: a move that waited for another one sees the
    card that one put at the top, and goes above it."""
    s = await stages(tenant_a)
    won = s["Won"].id
    current = await current_of(tenant_a)
    earlier, later = await make_deal(tenant_a, "Earlier"), await make_deal(tenant_a, "Later")
    locked, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:  # a move in progress: the board locked, its card on top
        async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
            await lock_board(conn, s["Won"].pipeline_id)
            await conn.execute(
                "update deals set stage_id = $2, position = $3, version = version + 1"
                " where id = $1",
                earlier,
                won,
                POSITION_GAP,
            )
            locked.set()
            await release.wait()

    held = asyncio.create_task(holder())
    await locked.wait()
    waiting = asyncio.create_task(move_deal(current, later, won, 1))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # it waits for the board
    release.set()
    await held
    outcome = await waiting
    assert outcome.ok
    placed = await _positions(tenant_a, won)
    assert [deal for deal, _ in placed] == [later, earlier]
    assert placed[0][1] == 0.0  # the top: above the card the other move left there


async def test_a_move_naming_another_pipelines_stage_redraws_only_its_own(
    tenant_a: Account, tenant_b: Account
) -> None:
    """`from_stage_id` comes from the page: a stage of another pipeline (with cards) or of
    another workspace is left out of the columns read back, never an error."""
    from app.deals import pipelines

    s = await stages(tenant_a)
    current = await current_of(tenant_a)
    other = await pipelines.create_pipeline(current, "Renewals")
    other_stage = (await pipelines.stages_of(current, other))[0]
    await make_deal(tenant_a, "Renewal", stage_id=other_stage.id)
    deal = await make_deal(tenant_a, "Mover")
    theirs = (await stages(tenant_b))["Lead"].id
    await make_deal(tenant_b, "Theirs")
    first = await move_deal(current, deal, s["Won"].id, 1, from_stage_id=other_stage.id)
    assert first.ok and [c.stage.id for c in first.columns] == [s["Lead"].id, s["Won"].id]
    again = await move_deal(current, deal, s["Won"].id, 2, from_stage_id=theirs)
    assert again.ok and [c.stage.id for c in again.columns] == [s["Won"].id]
    for outcome in (first, again):
        assert [card.title for c in outcome.columns for card in c.cards] == ["Mover"]


async def test_a_lost_deal_keeps_its_reason_in_a_lost_stage_only(tenant_a: Account) -> None:
    s = await stages(tenant_a)
    current = await current_of(tenant_a)
    deal = await make_deal(tenant_a, "Gone cold")
    lost, won = s["Lost"].id, s["Won"].id

    async def reason() -> str | None:
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            value: str | None = await conn.fetchval(
                "select lost_reason from deals where id = $1", deal
            )
        return value

    refused = await move_deal(current, deal, lost, 1)
    assert not refused.ok and await reason() is None
    assert (await move_deal(current, deal, lost, 1, lost_reason="Budget cut")).ok
    assert await reason() == "Budget cut"
    # within the lost stage no reason is asked again, and the one given stays
    assert (await move_deal(current, deal, lost, 2)).ok
    assert await reason() == "Budget cut"
    assert (await move_deal(current, deal, won, 3, lost_reason="ignored")).ok
    assert await reason() is None
