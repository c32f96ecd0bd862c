"""Board moves: optimistic versions (`UPDATE ... WHERE id = $1 AND version = $2`), positions."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.crm.activity import field_diff, record_activity
from app.deals import live
from app.deals.schemas import MoveOutcome
from app.deals.services import LOST_REASON_NEEDED, POSITION_GAP, end_position

STALE = "Someone else changed this deal a moment ago. The board now shows where it is."
GONE = "This deal was deleted a moment ago."


async def _place_after(
    conn: asyncpg.Connection, stage_id: UUID, deal_id: UUID, after: UUID | None
) -> float:
    """A position in `stage_id` right after the card `after` (at the top when None).

    Positions are floats with gaps; when a gap runs out the stage is renumbered.
    """
    for _ in range(2):
        if after is None:
            low = None
        else:
            low = await conn.fetchval(
                "select position from deals where id = $1 and stage_id = $2 and id <> $3",
                after,
                stage_id,
                deal_id,
            )
            if low is None:  # that card left the stage meanwhile: go to the bottom
                return await end_position(conn, stage_id)
        high = await conn.fetchval(
            "select min(position) from deals where stage_id = $1 and id <> $2"
            + (" and position > $3" if low is not None else ""),
            *([stage_id, deal_id, low] if low is not None else [stage_id, deal_id]),
        )
        if low is None and high is None:
            return POSITION_GAP
        if high is None:
            return float(low) + POSITION_GAP  # type: ignore[arg-type]
        if low is None:
            return float(high) - POSITION_GAP
        if float(high) - float(low) > 1e-6:
            return (float(low) + float(high)) / 2
        await conn.execute(
            "update deals d set position = r.n * $2 from (select id, row_number() over"
            " (order by position, id) as n from deals where stage_id = $1) r"
            " where d.id = r.id",
            stage_id,
            POSITION_GAP,
        )
    raise RuntimeError("could not find a position")  # pragma: no cover


async def move_deal(
    current: Current,
    deal_id: UUID,
    stage_id: UUID,
    version: int,
    after_id: UUID | None = None,
    lost_reason: str = "",
    from_stage_id: UUID | None = None,
) -> MoveOutcome:
    """Move a card to `stage_id`, after the card `after_id` (top when None).

    The update only applies when the deal still has `version` (`UPDATE ... WHERE id = $1 AND
    version = $2`); otherwise nothing changes and the outcome says why. Either way the outcome
    lists the stages whose columns the mover must redraw from the server's truth.
    """
    touched: list[UUID] = [s for s in (from_stage_id, stage_id) if s is not None]
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        deal = await conn.fetchrow(
            "select d.*, s.kind as stage_kind from deals d join stages s on s.id = d.stage_id"
            " where d.id = $1",
            deal_id,
        )
        if deal is None:
            return MoveOutcome(False, GONE, deal_id, None, touched)
        touched = list(dict.fromkeys([*touched, deal["stage_id"]]))
        target = await conn.fetchrow("select * from stages where id = $1", stage_id)
        if target is None:
            others = [s for s in touched if s != stage_id]
            return MoveOutcome(
                False, "That stage doesn't exist any more.", deal_id, deal["pipeline_id"], others
            )
        if target["pipeline_id"] != deal["pipeline_id"]:
            return MoveOutcome(
                False,
                "That stage belongs to another pipeline.",
                deal_id,
                deal["pipeline_id"],
                [s for s in touched if s != stage_id],
            )
        reason = lost_reason  # read by MoveForm: trimmed, storable, at most 1000 characters
        if target["kind"] == "lost" and not reason and deal["stage_kind"] != "lost":
            return MoveOutcome(False, LOST_REASON_NEEDED, deal_id, deal["pipeline_id"], touched)
        new_reason = (reason or deal["lost_reason"]) if target["kind"] == "lost" else None
        position = await _place_after(conn, stage_id, deal_id, after_id)
        moved = await conn.fetchval(
            "update deals set stage_id = $3, position = $4, lost_reason = $5,"
            " version = version + 1, updated_at = now()"
            " where id = $1 and version = $2 returning version",
            deal_id,
            version,
            stage_id,
            position,
            new_reason,
        )
        if moved is None:
            return MoveOutcome(False, STALE, deal_id, deal["pipeline_id"], touched)
        if deal["stage_id"] != stage_id:
            await record_activity(
                current.tenant_id,
                current.user_id,
                "deal",
                deal_id,
                "moved",
                f"Moved “{deal['title']}” from {await _stage_name(conn, deal['stage_id'])}"
                f" to {target['name']}" + (f" (lost: {new_reason})" if new_reason else ""),
                field_diff(
                    {"stage_id": deal["stage_id"], "lost_reason": deal["lost_reason"]},
                    {"stage_id": stage_id, "lost_reason": new_reason},
                    ("stage_id", "lost_reason"),
                ),
            )
        tenant_id, pipeline_id = current.tenant_id, deal["pipeline_id"]
        columns = list(touched)

        async def push() -> None:
            await live.stages_changed(tenant_id, pipeline_id, columns)

        live.push_after_commit(push)
    return MoveOutcome(True, "", deal_id, pipeline_id, touched)


async def _stage_name(conn: asyncpg.Connection, stage_id: UUID) -> str:
    return str(await conn.fetchval("select name from stages where id = $1", stage_id))
