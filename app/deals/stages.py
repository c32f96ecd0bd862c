"""A pipeline's stages in board order, read through the Piccolo table (inside the caller's
tenant transaction)."""

from __future__ import annotations

from uuid import UUID

from app.core.rows import rows_as
from app.deals.schemas import StageInfo
from app.deals.tables import Stage


async def pipeline_stages(pipeline_id: UUID) -> list[StageInfo]:
    """The pipeline's stages by position (then age, then id: a stable order)."""
    rows = await (
        Stage.select()
        .where(Stage.pipeline_id == pipeline_id)
        .order_by(Stage.position, Stage.created_at, Stage.id)
    )
    return rows_as(StageInfo, rows)
