"""SQL shared by the deals services: the card select and row -> struct conversion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from app.deals.schemas import Column, DealCard, PipelineInfo, StageInfo

CARD_SELECT = """
select d.id, d.title, d.amount, d.currency, d.pipeline_id, d.stage_id,
       s.name as stage_name, s.kind as stage_kind, d.position, d.version,
       d.expected_close_date, d.owner_id, u.name as owner_name,
       d.company_id, c.name as company_name, d.lost_reason, d.created_at, d.updated_at
from deals d
join stages s on s.id = d.stage_id
left join users u on u.id = d.owner_id
left join companies c on c.id = d.company_id
"""


def card_from_row(row: asyncpg.Record | dict[str, Any]) -> DealCard:
    return DealCard(
        id=row["id"],
        title=row["title"],
        amount=row["amount"],
        currency=row["currency"],
        pipeline_id=row["pipeline_id"],
        stage_id=row["stage_id"],
        stage_name=row["stage_name"],
        stage_kind=row["stage_kind"],
        position=row["position"],
        version=row["version"],
        expected_close_date=row["expected_close_date"],
        owner_id=row["owner_id"],
        owner_name=row["owner_name"],
        company_id=row["company_id"],
        company_name=row["company_name"],
        lost_reason=row["lost_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def stage_from_row(row: asyncpg.Record) -> StageInfo:
    return StageInfo(
        row["id"], row["pipeline_id"], row["name"], row["position"], row["kind"], row["version"]
    )


def pipeline_from_row(row: asyncpg.Record) -> PipelineInfo:
    return PipelineInfo(row["id"], row["name"], row["is_default"], row["version"])


async def lock_board(conn: asyncpg.Connection, pipeline_id: UUID) -> None:
    """Serialise board moves of one pipeline until the transaction ends (the pipeline row,
    FOR NO KEY UPDATE: deals' foreign-key checks are not blocked), so a move's own read of
    its columns sees every move committed before it."""
    await conn.execute("select 1 from pipelines where id = $1 for no key update", pipeline_id)


async def fetch_stages(conn: asyncpg.Connection, pipeline_id: UUID) -> list[StageInfo]:
    rows = await conn.fetch(
        "select * from stages where pipeline_id = $1 order by position, created_at, id",
        pipeline_id,
    )
    return [stage_from_row(r) for r in rows]


async def fetch_columns(
    conn: asyncpg.Connection, pipeline_id: UUID, only: Sequence[UUID] | None = None
) -> list[Column]:
    """The pipeline's stages (or just `only`) with their cards in board order."""
    stages = await fetch_stages(conn, pipeline_id)
    if only is not None:
        stages = [s for s in stages if s.id in set(only)]
    if not stages:
        return []
    rows = await conn.fetch(
        CARD_SELECT + " where d.stage_id = any($1::uuid[]) order by d.position, d.id",
        [s.id for s in stages],
    )
    by_stage: dict[UUID, list[DealCard]] = {s.id: [] for s in stages}
    for row in rows:
        by_stage[row["stage_id"]].append(card_from_row(row))
    return [Column(stage=s, cards=by_stage[s.id]) for s in stages]
