"""A card's place on the board: the deal a move decides on (its board locked), the target
stage, the versioned move, and positions (cards sit at multiples of POSITION_GAP; a move
takes the middle of a gap). The position arithmetic and the locking reads are SQL Piccolo
cannot say well; named, typed functions as every domain's queries.py has them."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

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


class Landing(msgspec.Struct, frozen=True):
    """Where a move went: the target stage (its pipeline, name and kind), the position the card
    takes there (None: the gap asked for ran out, the stage must be renumbered first,
    `renumber_stage`) and whether the deal moved."""

    pipeline_id: UUID
    name: str
    kind: str
    position: float | None
    moved: bool


# The target stage $1 and the place in it for the deal $2 right after the card $3 (at the top
# when NULL; at the bottom when that card left the stage meanwhile): `low` is that card's
# position, `high` the next one below it, `bottom` the stage's last. Cards sit at multiples of
# $8 (POSITION_GAP); a move takes the middle of a gap (NULL when it ran out).
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
PLACE = """
case when $3::uuid is not null and t.low is null then coalesce(t.bottom, 0) + $8
     when t.low is null and t.high is null then $8
     when t.high is null then t.low + $8
     when t.low is null then t.high - $8
     when t.high - t.low > 1e-6 then (t.low + t.high) / 2 end
"""
# The move in one statement: the target and the place (TARGET_PLACE), and the deal put there
# only if it is still at version $4, the stage is in its pipeline $5, a place was found and,
# into a lost stage, `$6` (the caller's rule: a reason given or the deal lost already) holds;
# the lost reason $7 is kept in a lost stage only. No row: no such stage (for this workspace).
MOVE = f"""
with t as ({TARGET_PLACE}),
p as (select t.pipeline_id, t.name, t.kind, {PLACE} as position from t),
moved as (
  update deals d set stage_id = $1, position = p.position,
         lost_reason = case when p.kind = 'lost' then $7::text end, updated_at = now(),
         version = d.version + 1
  from p
  where d.id = $2 and d.version = $4 and p.pipeline_id = $5 and p.position is not null
    and (p.kind <> 'lost' or $6::boolean)
  returning d.id
)
select p.pipeline_id, p.name, p.kind, p.position, exists (select from moved) as moved from p
"""


async def move_card(
    conn: asyncpg.Connection,
    deal: MovingDeal,
    version: int,
    stage_id: UUID,
    after: UUID | None,
    *,
    into_lost: bool,
    lost_reason: str | None,
) -> Landing | None:
    """Put `deal` in `stage_id` right after the card `after` (at the top when None), bumping
    its version, if it is still at `version`, the stage is in its pipeline and, for a lost
    stage, `into_lost` (the move's rule) allows it; `lost_reason` is kept in a lost stage
    only. Returns where it went and whether it moved, or None when there is no such stage.

    One statement (`update_at_version` for a move, the place read in it), made after the
    board's lock (`deal_to_move`), so its reads see every move committed before this one.
    Positions are floats with gaps; when the gap asked for ran out nothing moves and the
    landing's position is None: `renumber_stage`, then move again."""
    row = await conn.fetchrow(
        MOVE,
        stage_id,
        deal.id,
        after,
        version,
        deal.pipeline_id,
        into_lost,
        lost_reason,
        POSITION_GAP,
    )
    return None if row is None else Landing(*row)


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
