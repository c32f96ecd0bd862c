"""Board moves: optimistic versions (`UPDATE ... WHERE id = $1 AND version = $2`), positions.

The move's reads and writes (the deal read with its board's lock; then, in one later statement,
the target stage, the positions around the place asked for and the versioned update) are named
functions in app/deals/positions.py: plain SQL, as a move is the board's hot path."""

from __future__ import annotations

from uuid import UUID

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.crm.activity import field_diff, record_activity
from app.deals import live
from app.deals.positions import deal_to_move, move_card, renumber_stage
from app.deals.queries import fetch_columns
from app.deals.schemas import MoveOutcome
from app.deals.services import LOST_REASON_NEEDED

STALE = "Someone else changed this deal a moment ago. The board now shows where it is."
GONE = "This deal was deleted a moment ago."
NO_STAGE = "That stage doesn't exist any more."


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
        deal = await deal_to_move(conn, deal_id)  # and its board locked
        if deal is None:
            return MoveOutcome(False, GONE, deal_id, None, touched)
        pipeline_id = deal.pipeline_id
        touched = list(dict.fromkeys([*touched, deal.stage_id]))

        async def refused(message: str, stage_ids: list[UUID]) -> MoveOutcome:
            columns = await fetch_columns(conn, pipeline_id, only=stage_ids)
            return MoveOutcome(False, message, deal_id, pipeline_id, stage_ids, columns)

        reason = lost_reason  # read by MoveForm: trimmed, storable, at most 1000 characters
        into_lost = bool(reason) or deal.stage_kind == "lost"  # a lost deal needs its reason
        if_lost = reason or deal.lost_reason
        # after the lock, in a statement of its own: it sees every move committed before
        target = await move_card(
            conn, deal, version, stage_id, after_id, into_lost=into_lost, lost_reason=if_lost
        )
        if target is None:
            others = [s for s in touched if s != stage_id]
            return await refused(NO_STAGE, others)
        if target.pipeline_id != pipeline_id:
            others = [s for s in touched if s != stage_id]
            return await refused("That stage belongs to another pipeline.", others)
        if target.kind == "lost" and not into_lost:
            return await refused(LOST_REASON_NEEDED, touched)
        if target.position is None:  # the gap ran out (nothing moved): renumber, move again
            await renumber_stage(conn, stage_id)
            target = await move_card(
                conn, deal, version, stage_id, after_id, into_lost=into_lost, lost_reason=if_lost
            )
            if target is None:
                return await refused(NO_STAGE, [s for s in touched if s != stage_id])
        if not target.moved:
            return await refused(STALE, touched)
        new_reason = if_lost if target.kind == "lost" else None
        if deal.stage_id != stage_id:
            await record_activity(
                current.tenant_id,
                current.user_id,
                "deal",
                deal_id,
                "moved",
                f"Moved “{deal.title}” from {deal.stage_name} to {target.name}"
                + (f" (lost: {new_reason})" if new_reason else ""),
                field_diff(
                    {"stage_id": deal.stage_id, "lost_reason": deal.lost_reason},
                    {"stage_id": stage_id, "lost_reason": new_reason},
                    ("stage_id", "lost_reason"),
                ),
            )
        # The columns as this transaction leaves them: the mover's answer, and (after commit)
        # the push to everyone watching. Moves on this board hold its lock, so each one reads
        # after the previous one committed and the pushes never step back in time.
        columns = await fetch_columns(conn, pipeline_id, only=touched)
        pushed = live.publish_columns_after_commit(current.tenant_id, columns)
    return MoveOutcome(True, "", deal_id, pipeline_id, touched, columns, pushed)
