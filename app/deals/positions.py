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
    """The stage a move goes to: its pipeline, name and kind."""

    pipeline_id: UUID
    name: str
    kind: str


async def target_stage(conn: asyncpg.Connection, stage_id: UUID) -> TargetStage | None:
    """The stage `stage_id`, or None (read after the board's lock, as the move decides on it)."""
    row = await conn.fetchrow("select pipeline_id, name, kind from stages where id = $1", stage_id)
    return None if row is None else TargetStage(*row)


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


async def place_after(
    conn: asyncpg.Connection, stage_id: UUID, deal_id: UUID, after: UUID | None
) -> float:
    """A position in `stage_id` right after the card `after` (at the top when None).

    Positions are floats with gaps; when a gap runs out the stage is renumbered.
    """
    for _ in range(2):
        low: float | None = None
        if after is not None:
            found = await conn.fetchval(
                "select position from deals where id = $1 and stage_id = $2 and id <> $3",
                after,
                stage_id,
                deal_id,
            )
            if found is None:  # that card left the stage meanwhile: go to the bottom
                return await end_position(conn, stage_id)
            low = float(found)
        high_found = await conn.fetchval(
            "select min(position) from deals where stage_id = $1 and id <> $2"
            + (" and position > $3" if low is not None else ""),
            *([stage_id, deal_id, low] if low is not None else [stage_id, deal_id]),
        )
        high = None if high_found is None else float(high_found)
        if low is None and high is None:
            return POSITION_GAP
        if high is None:
            assert low is not None
            return low + POSITION_GAP
        if low is None:
            return high - POSITION_GAP
        if high - low > 1e-6:
            return (low + high) / 2
        await conn.execute(
            "update deals d set position = r.n * $2 from (select id, row_number() over"
            " (order by position, id) as n from deals where stage_id = $1) r"
            " where d.id = r.id",
            stage_id,
            POSITION_GAP,
        )
    raise RuntimeError("could not find a position")  # pragma: no cover
