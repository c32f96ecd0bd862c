"""Stages in board order, read through the Piccolo table (inside the caller's tenant
transaction): one pipeline's, or every pipeline's (joined through `Stage.pipeline_id`)."""

from __future__ import annotations

from uuid import UUID

from app.core.rows import rows_as
from app.deals.schemas import StageInfo
from app.deals.tables import Stage

# a pipeline's stages, and the pipelines themselves: by position, then age, then id (stable)
STAGE_ORDER = (Stage.position, Stage.created_at, Stage.id)
PIPELINE_ORDER = (Stage.pipeline_id.position, Stage.pipeline_id.created_at, Stage.pipeline_id)


async def pipeline_stages(pipeline_id: UUID) -> list[StageInfo]:
    """The pipeline's stages in board order."""
    rows = await Stage.select().where(Stage.pipeline_id == pipeline_id).order_by(*STAGE_ORDER)
    return rows_as(StageInfo, rows)


async def all_stages() -> list[StageInfo]:
    """Every stage of every pipeline in board order (the pipelines', then each one's)."""
    rows = await Stage.select().order_by(*PIPELINE_ORDER, *STAGE_ORDER)
    return rows_as(StageInfo, rows)
