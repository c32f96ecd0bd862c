"""The board's rendered columns and totals line, kept per web process while nothing they show
changed: a board page then costs one small read (the workspace's pipelines with their board
versions) and the kept markup, instead of reading and rendering every card.

What the kept markup shows is decided by the database's rows and the clock. The rows: each
pipeline's `board_versions.version`, bumped by triggers (migrations/deals, 1.42.0) in the
transaction of any change of its deals, stages, the deals' notes, tasks and activities, the
deals' companies' names or the workspace's exchange rates; `board_epoch`, bumped when a
person's name (a card's owner) changes; the workspace's currency and the pipeline itself
(its stale limit), read beside them. All are read in the page's own transaction, before the
cards would be: a kept board is at least as new as the versions it is kept under, and a
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
from functools import cache
from typing import NamedTuple, Protocol, cast
from uuid import UUID

import asyncpg
from markupsafe import Markup

from app.accounts.schemas import Current
from app.core import formats
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.core.templating import env
from app.deals.pipelines import ensure_default_in
from app.deals.queries import fetch_columns
from app.deals.schemas import Column, PipelineInfo, board_summary

# The workspace's pipelines in board order (as `all_pipelines`), each with its board's version
# (NULL: none yet, never kept), the workspace's currency, the platform's name epoch and the
# minute of the transaction's now() (the one the cards' badges are decided by).
BOARD_PIPELINES = """
select p.id, p.name, p.is_default, p.version, p.stale_days, v.version as board_version,
       t.default_currency, e.version as epoch,
       floor(extract(epoch from now()) / 60)::bigint as minute
from pipelines p
join tenants t on t.id = p.tenant_id
left join board_versions v on v.pipeline_id = p.id
cross join board_epoch e
order by p.position, p.created_at, p.id
"""

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


async def _pipelines(conn: asyncpg.Connection, tenant_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(BOARD_PIPELINES)
    if not any(r["is_default"] for r in rows):  # made first if missing
        await ensure_default_in(conn, tenant_id)
        rows = await conn.fetch(BOARD_PIPELINES)
    return rows


def _info(row: asyncpg.Record) -> PipelineInfo:
    return PipelineInfo(
        id=row["id"],
        name=row["name"],
        is_default=row["is_default"],
        version=row["version"],
        stale_days=row["stale_days"],
    )


async def board_view(current: Current, pipeline_id: UUID | None = None) -> BoardView:
    """A pipeline's board (the default one when no id is given; another workspace's or a
    deleted one: RecordNotFound), its markup kept or rendered now (and kept)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        rows = await _pipelines(conn, current.tenant_id)
        pipelines = [_info(r) for r in rows]
        wanted = pipeline_id or next(p.id for p in pipelines if p.is_default)
        found = next((i for i, p in enumerate(pipelines) if p.id == wanted), None)
        if found is None:
            raise RecordNotFound("pipeline")
        pipeline, row = pipelines[found], rows[found]
        version = row["board_version"]
        key = BoardKey(
            current.tenant_id,
            pipeline,
            -1 if version is None else int(version),
            int(row["epoch"]),
            str(row["default_currency"]),
            formats.current(),
            int(row["minute"]),
        )
        markup = _kept.get(key)
        if markup is None:
            markup = render_board(pipeline.id, await fetch_columns(conn, pipeline.id))
            if version is not None:
                _keep(key, markup)
        else:
            _kept.move_to_end(key)
    return BoardView(pipeline, pipelines, markup.columns, markup.summary)
