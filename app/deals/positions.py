"""A card's place on the board: the deal a move decides on (its board locked), the target
stage, the versioned move, and positions (cards sit at multiples of POSITION_GAP; a move
takes the middle of a gap). The position arithmetic and the locking reads are SQL Piccolo
cannot say well; named, typed functions as every domain's queries.py has them."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import answers

POSITION_GAP = 1024.0  # cards sit at multiples of this; a move takes the middle of a gap


class MovingDeal(msgspec.Struct, frozen=True):
    """What a board move decides on: the deal and the stage it is in now."""

    id: UUID
    title: str
    pipeline_id: UUID
    stage_id: UUID
    stage_name: str
    stage_kind: str
    lost_reason: str | None
    version: int


async def deal_to_move(conn: asyncpg.Connection, deal_id: UUID) -> MovingDeal | None:
    """The deal with the stage it is in now, or None; and its board locked as `lock_board`
    does (its pipeline's row, FOR NO KEY UPDATE, until the transaction ends), in one statement.

    The deal's values are those of the statement's start, before any wait for the lock (as a
    read made before `lock_board`): the move's `UPDATE ... AND version = $2` refuses a deal
    moved meanwhile. Every read made after this one sees the moves committed before it."""
    row = await conn.fetchrow(
        "select d.id, d.title, d.pipeline_id, d.stage_id, s.name as stage_name,"
        " s.kind as stage_kind, d.lost_reason, d.version"
        " from deals d join stages s on s.id = d.stage_id"
        " join pipelines p on p.id = d.pipeline_id"
        " where d.id = $1 for no key update of p",
        deal_id,
    )
    return None if row is None else MovingDeal(*row)


async def move_card(
    conn: asyncpg.Connection,
    deal_id: UUID,
    version: int,
    stage_id: UUID,
    position: float,
    lost_reason: str | None,
) -> bool:
    """Put the deal at `position` in `stage_id` if it is still at `version`, bumping the
    version (`update_at_version` for a move, without the row read back); False otherwise."""
    return await answers(
        conn,
        "update deals set stage_id = $3, position = $4, lost_reason = $5, updated_at = now(),"
        " version = version + 1 where id = $1 and version = $2 returning id",
        deal_id,
        version,
        stage_id,
        position,
        lost_reason,
    )


class TargetStage(msgspec.Struct, frozen=True):
    """The stage a move goes to (its pipeline, name and kind) and where the card would land
    there: `position`, in the middle of the gap the move asked for; None when that gap ran
    out (the stage must be renumbered first, `renumber_stage`)."""

    pipeline_id: UUID
    name: str
    kind: str
    position: float | None


# The target stage and, in the same read, the positions around the place asked for: `low`, the
# card `$3`'s (NULL at the top; or when that card left the stage meanwhile, then `bottom`, the
# stage's last position, is read instead) and `high`, the first one below it. No row: no such
# stage (for this workspace).
TARGET_PLACE = """
select s.pipeline_id, s.name, s.kind, a.position as low,
       case when $3::uuid is null or a.id is not null then (
         select min(d.position) from deals d
         where d.stage_id = $1 and d.id <> $2 and ($3::uuid is null or d.position > a.position)
       ) end as high,
       case when $3::uuid is not null and a.id is null then (
         select max(d.position) from deals d where d.stage_id = $1
       ) end as bottom
from stages s
left join deals a on a.id = $3 and a.stage_id = $1 and a.id <> $2
where s.id = $1
"""


def _landing(
    after: UUID | None, low: float | None, high: float | None, bottom: float | None
) -> float | None:
    """Where a card goes between `low` and `high` (either None: the stage's end), below
    `bottom` when the card `after` left the stage; None when the gap ran out."""
    if after is not None and low is None:  # that card left the stage meanwhile: the bottom
        return POSITION_GAP if bottom is None else bottom + POSITION_GAP
    if low is None and high is None:
        return POSITION_GAP
    if high is None:
        assert low is not None
        return low + POSITION_GAP
    if low is None:
        return high - POSITION_GAP
    return (low + high) / 2 if high - low > 1e-6 else None


async def target_stage(
    conn: asyncpg.Connection, stage_id: UUID, deal_id: UUID, after: UUID | None
) -> TargetStage | None:
    """The stage `stage_id` and the place in it right after the card `after` (at the top when
    None) for the deal `deal_id`, or None when there is no such stage; one statement, made
    after the board's lock (`deal_to_move`) so it sees every move committed before this one.

    Positions are floats with gaps; when a gap runs out, `position` is None and the move
    renumbers the stage (`renumber_stage`) and asks again."""
    row = await conn.fetchrow(TARGET_PLACE, stage_id, deal_id, after)
    if row is None:
        return None
    pipeline_id, name, kind, low, high, bottom = row
    return TargetStage(pipeline_id, name, kind, _landing(after, low, high, bottom))


async def renumber_stage(conn: asyncpg.Connection, stage_id: UUID) -> None:
    """Put the stage's cards at multiples of POSITION_GAP again, in their order (a gap ran
    out)."""
    await conn.execute(
        "update deals d set position = r.n * $2 from (select id, row_number() over"
        " (order by position, id) as n from deals where stage_id = $1) r"
        " where d.id = r.id",
        stage_id,
        POSITION_GAP,
    )


async def place_in(
    conn: asyncpg.Connection,
    target: TargetStage,
    stage_id: UUID,
    deal_id: UUID,
    after: UUID | None,
) -> float | None:
    """The position `target_stage` found; when its gap ran out, the stage is renumbered and
    the place read again (None: the stage was deleted meanwhile)."""
    if target.position is not None:
        return target.position
    await renumber_stage(conn, stage_id)
    again = await target_stage(conn, stage_id, deal_id, after)
    return None if again is None else again.position


async def count_cards(conn: asyncpg.Connection, stage_ids: list[UUID]) -> int:
    """How many deals the stages hold together."""
    return int(
        await conn.fetchval(
            "select count(*) from deals where stage_id = any($1::uuid[])", stage_ids
        )
    )


async def end_position(conn: asyncpg.Connection, stage_id: UUID) -> float:
    """A position below the stage's last card."""
    top = await conn.fetchval("select max(position) from deals where stage_id = $1", stage_id)
    return float(top) + POSITION_GAP if top is not None else POSITION_GAP
