"""The board's rendered columns and totals line, kept per web process while nothing they show
changed: a board page then costs one small read (the workspace's pipelines with their board
versions) and the kept markup, instead of reading and rendering every card.

What the kept markup shows is decided by the database's rows and the clock. The rows: each
pipeline's `board_versions.version`, bumped by triggers (migrations/deals, 1.42.0) in the
transaction of any change of its deals, stages, the deals' notes, tasks and activities, the
deals' companies' names or the workspace's exchange rates; `board_epoch`, bumped when a
person's name (a card's owner) changes; the workspace's currency and the pipeline itself
(its stale limit), read beside them in one statement, and read again in the transaction that
reads the cards when they must be rendered, before them: a kept board is at least as new as
the versions it is kept under, and a
change committed elsewhere (another process) is seen by the next page in every process. The
clock: a card's "Overdue" and "Stale" badges are decided by the database's now() when the
board is read, so a board is kept for the minute of that now() only (read in the same
transaction): a badge shows (or goes) less than a minute late. And the reader's time zone
and locale (dates and amounts).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import NamedTuple, Protocol, cast
from uuid import UUID

import asyncpg
from markupsafe import Markup

from app.accounts.schemas import Current
from app.core import formats
from app.core.db import self_scoped, tenant_transaction
from app.core.errors import RecordNotFound
from app.core.folded import StateRead
from app.core.templating import env
from app.deals.pipelines import ensure_default_in
from app.deals.queries import fetch_columns
from app.deals.schemas import Column, PipelineInfo, board_summary

# The workspace's pipelines in board order (as `all_pipelines`), each with its board's version
# (NULL: none yet, never kept), the workspace's currency, the platform's name epoch and the
# minute of the statement's now() (the one the cards' badges are decided by): one statement
# that sets its RLS scope itself (migrations/deals, 1.46.0), so a kept board costs one round
# trip, run by `db.self_scoped` (or in the open transaction of the same scope).
BOARD_PIPELINES = "select * from odex_board_pipelines($1, $2)"
# the same read folded into the board page's signed-in check (app/core/folded.py)
BOARD_READ = StateRead("board", "odex_board_pipelines($1, $2)")

KEPT_BOARDS = 64  # boards kept per process (oldest used dropped first) ...
KEPT_SIZE = 8_000_000  # ... and their markup's size in all (UTF-8 bytes, about)


class BoardKey(NamedTuple):
    """Everything a kept board's markup depends on."""

    tenant_id: UUID
    pipeline: PipelineInfo  # its id and stale limit (and name and version: edits)
    version: int  # board_versions.version
    epoch: int  # board_epoch.version (people's names)
    currency: str  # the workspace's default currency
    prefs: formats.Prefs  # the reader's time zone and locale
    minute: int  # the minute of the database's now() it was read at (badges depend on it)


@dataclass(frozen=True, slots=True)
class BoardMarkup:
    """A board's columns (`board_columns`, as UTF-8: the page splices them in as they are) and
    totals line (`board_summary`), rendered."""

    columns: bytes
    summary: Markup


@dataclass(frozen=True, slots=True)
class BoardView:
    """What the board page shows: the pipeline, the pipelines to switch to, the markup."""

    pipeline: PipelineInfo
    pipelines: list[PipelineInfo]
    columns: bytes  # UTF-8
    summary: Markup


class _CardMacros(Protocol):
    """The macros of deals/_cards.html this module renders."""

    def board_columns(self, pipeline_id: UUID, columns: Sequence[Column]) -> Markup: ...

    def board_summary(self, summary: Mapping[str, object], pipeline_id: UUID) -> Markup: ...


@cache
def _macros() -> _CardMacros:
    return cast(_CardMacros, env.get_template("deals/_cards.html").module)


_kept: OrderedDict[BoardKey, BoardMarkup] = OrderedDict()
_kept_size = 0


def kept_boards() -> int:
    """How many boards this process keeps (tests)."""
    return len(_kept)


def forget_all() -> None:
    """Drop every kept board (tests)."""
    global _kept_size
    _kept.clear()
    _kept_size = 0


def _keep(key: BoardKey, markup: BoardMarkup) -> None:
    global _kept_size
    size = len(markup.columns) + len(markup.summary)
    if size > KEPT_SIZE:
        return
    _kept[key] = markup
    _kept_size += size
    while len(_kept) > KEPT_BOARDS or _kept_size > KEPT_SIZE:
        _, old = _kept.popitem(last=False)
        _kept_size -= len(old.columns) + len(old.summary)


def render_board(pipeline_id: UUID, columns: Sequence[Column]) -> BoardMarkup:
    """The columns and totals line as the board page writes them (the reader's formats)."""
    macros = _macros()
    summary = macros.board_summary(board_summary(columns), pipeline_id)
    html = macros.board_columns(pipeline_id, columns)
    return BoardMarkup(columns=html.encode(), summary=summary)


async def _read_pipelines(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(BOARD_PIPELINES, tenant_id, user_id)
    return rows


async def _pipelines(conn: asyncpg.Connection, current: Current) -> list[asyncpg.Record]:
    rows = await _read_pipelines(conn, current.tenant_id, current.user_id)
    if not any(r["is_default"] for r in rows):  # made first if missing
        await ensure_default_in(conn, current.tenant_id)
        rows = await _read_pipelines(conn, current.tenant_id, current.user_id)
    return rows


def _info(row: asyncpg.Record) -> PipelineInfo:
    return PipelineInfo(
        id=row["id"],
        name=row["name"],
        is_default=row["is_default"],
        version=row["version"],
        stale_days=row["stale_days"],
    )


def _board_key(
    current: Current, rows: list[asyncpg.Record], pipeline_id: UUID | None
) -> BoardKey | None:
    """The key the wanted pipeline's markup is kept under; None when there is no default
    pipeline yet (it is made in a transaction)."""
    pipelines = [_info(r) for r in rows]
    wanted = pipeline_id or next((p.id for p in pipelines if p.is_default), None)
    if wanted is None:
        return None
    found = next((i for i, p in enumerate(pipelines) if p.id == wanted), None)
    if found is None:
        raise RecordNotFound("pipeline")
    row = rows[found]
    version = row["board_version"]
    return BoardKey(
        current.tenant_id,
        pipelines[found],
        -1 if version is None else int(version),
        int(row["epoch"]),
        str(row["default_currency"]),
        formats.current(),
        int(row["minute"]),
    )


def _view(rows: list[asyncpg.Record], key: BoardKey, markup: BoardMarkup) -> BoardView:
    return BoardView(key.pipeline, [_info(r) for r in rows], markup.columns, markup.summary)


async def board_view(
    current: Current,
    pipeline_id: UUID | None = None,
    folded: list[asyncpg.Record] | None = None,
) -> BoardView:
    """A pipeline's board (the default one when no id is given; another workspace's or a
    deleted one: RecordNotFound), its markup kept or rendered now (and kept).

    First the one self-scoped read of the versions: when the markup kept under them is there,
    that is the whole page's database work (one round trip). Otherwise everything is read again
    in one transaction, versions first, then the cards (a kept board is at least as new as the
    versions it is kept under, and its badges are decided by that transaction's minute).
    `folded`: those versions read with the signed-in check (`BOARD_READ`), if they were."""
    rows = folded
    if rows is None:
        rows = await self_scoped(
            current.tenant_id,
            current.user_id,
            partial(_read_pipelines, tenant_id=current.tenant_id, user_id=current.user_id),
        )
    key = _board_key(current, rows, pipeline_id)
    markup = _kept.get(key) if key is not None else None
    if key is not None and markup is not None:
        _kept.move_to_end(key)
        return _view(rows, key, markup)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        rows = await _pipelines(conn, current)
        key = _board_key(current, rows, pipeline_id)
        assert key is not None  # _pipelines made the default
        markup = _kept.get(key)
        if markup is None:
            markup = render_board(key.pipeline.id, await fetch_columns(conn, key.pipeline.id))
            if key.version != -1:
                _keep(key, markup)
        else:
            _kept.move_to_end(key)
    return _view(rows, key, markup)
