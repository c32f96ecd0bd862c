"""Live pushes for deals: render the board columns / list rows and publish them after commit.

The markup comes from the same macros the pages use (templates/deals/_cards.html), so a card
looks the same on first load, in an htmx response and in a websocket push.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from app.core import formats
from app.core.db import after_commit, tenant_transaction
from app.core.templating import render_html
from app.deals.positions import count_cards
from app.deals.queries import deal_card, fetch_columns
from app.deals.schemas import Column, DealCard, board_summary
from app.realtime.channels import board_channel, publish

log = logging.getLogger("odex.deals")


def push_after_commit(push: Callable[[], Awaitable[None]]) -> None:
    """Run a live push once the transaction commits; a failing push is logged, not raised
    (the write is saved; open pages catch up on their next load)."""

    async def guarded() -> None:
        try:
            await push()
        except Exception:
            log.exception("live push failed")

    after_commit(guarded)


def render_push(
    *,
    columns: Sequence[Column] = (),
    board: tuple[UUID, Sequence[Column]] | None = None,
    rows: Sequence[DealCard] = (),
    new_rows: Sequence[DealCard] = (),
    deleted: Sequence[UUID] = (),
    toast: tuple[str, str] | None = None,
) -> str:
    """Out-of-band fragments: whole board, columns, list rows, deleted ids, a toast."""
    ctx: dict[str, object] = {
        "columns": columns,
        "board": board,
        "rows": rows,
        "new_rows": new_rows,
        "deleted": deleted,
        "toast": toast,
        "summary": board_summary(board[1]) if board else None,
    }
    return render_html("deals/push.html", ctx)


def broadcast_push(**parts: Any) -> str:  # render_push's keywords, passed on
    """`render_push` for everyone watching: one message goes to people with different time
    zones and locales, so it is written in the defaults (UTC, en-GB), never in the sender's
    (a fresh context: app.core.formats reads none); each page reads its own on reload."""
    return contextvars.Context().run(functools.partial(render_push, **parts))


def publish_columns_after_commit(tenant_id: UUID, columns: Sequence[Column]) -> str:
    """Push columns read inside the current transaction to the tenant's boards once it
    commits (no second transaction: the writer read them under the board's lock); returns
    the markup pushed (see `columns_answer`)."""
    html = broadcast_push(columns=columns)

    async def push() -> None:
        await publish(board_channel(tenant_id), html)

    push_after_commit(push)
    return html


def columns_answer(columns: Sequence[Column], pushed: str) -> str:
    """The writer's own answer with `columns`: `pushed` (the same columns as
    `publish_columns_after_commit` rendered them for everyone) when this request reads dates
    and numbers in the defaults, as the push does, so the same markup is not rendered twice;
    rendered in the request's own formats otherwise."""
    if pushed and formats.current() == formats.DEFAULT:
        return pushed
    return render_push(columns=columns)


async def columns_now(
    tenant_id: UUID, pipeline_id: UUID, stage_ids: Sequence[UUID]
) -> list[Column]:
    """The named columns as the database has them now."""
    async with tenant_transaction(tenant_id) as conn:
        return await fetch_columns(conn, pipeline_id, only=stage_ids)


async def stages_changed(tenant_id: UUID, pipeline_id: UUID, stage_ids: Sequence[UUID]) -> None:
    """Push the named columns to every viewer of the tenant's boards."""
    columns = await columns_now(tenant_id, pipeline_id, stage_ids)
    await publish(board_channel(tenant_id), broadcast_push(columns=columns))


LIVE_CARDS = 1000  # past this many cards in the touched columns, boards are told to re-read
BOARD_RESYNC = '<span id="deals-live-board" hx-swap-oob="true" hidden></span>'


async def cards_landed(tenant_id: UUID, touched: dict[UUID, list[UUID]]) -> None:
    """Push the columns a batch of new deals landed in (a CSV import's batch); when they hold
    more than LIVE_CARDS cards, a small "re-read the board" signal instead (static/js/board.js
    fetches its own board then): the worker never renders thousands of cards per batch for
    boards nobody may be watching."""
    async with tenant_transaction(tenant_id) as conn:
        stage_ids = [s for stages in touched.values() for s in stages]
        cards = await count_cards(conn, stage_ids)
        if cards > LIVE_CARDS:
            html = BOARD_RESYNC
        else:
            columns = [
                column
                for pipeline_id, stages in touched.items()
                for column in await fetch_columns(conn, pipeline_id, only=stages)
            ]
            html = broadcast_push(columns=columns)
    await publish(board_channel(tenant_id), html)


async def board_changed(tenant_id: UUID, pipeline_id: UUID) -> None:
    """Push a whole board (its stages were added, renamed, reordered or deleted)."""
    async with tenant_transaction(tenant_id) as conn:
        columns = await fetch_columns(conn, pipeline_id)
    await publish(board_channel(tenant_id), broadcast_push(board=(pipeline_id, columns)))


async def deal_changed(
    tenant_id: UUID,
    deal_id: UUID,
    *,
    created: bool = False,
    stage_ids: Sequence[UUID] = (),
) -> None:
    """Push a created or edited deal: its row in open lists and the columns it touched."""
    async with tenant_transaction(tenant_id) as conn:
        card = await deal_card(conn, deal_id)
        if card is None:
            return
        wanted = list(dict.fromkeys([*stage_ids, card.stage_id]))
        columns = await fetch_columns(conn, card.pipeline_id, only=wanted)
    html = broadcast_push(
        columns=columns,
        rows=[] if created else [card],
        new_rows=[card] if created else [],
    )
    await publish(board_channel(tenant_id), html)


async def deal_deleted(tenant_id: UUID, deal_id: UUID, pipeline_id: UUID, stage_id: UUID) -> None:
    columns = await columns_now(tenant_id, pipeline_id, [stage_id])
    await publish(board_channel(tenant_id), broadcast_push(columns=columns, deleted=[deal_id]))
