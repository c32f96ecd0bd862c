"""Pipeline actions: the default pipeline, the board, and admins editing ordered stages."""

from __future__ import annotations

import uuid
from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import Forbidden, FormInvalid, RecordNotFound
from app.crm.activity import edit_conflict, stale_page
from app.deals import live
from app.deals.queries import fetch_columns, fetch_stages, pipeline_from_row, stage_from_row
from app.deals.schemas import Board, PipelineInfo, StageInfo

DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES = (
    ("Lead", "open"),
    ("Qualified", "open"),
    ("Proposal", "open"),
    ("Negotiation", "open"),
    ("Won", "won"),
    ("Lost", "lost"),
)
# the win probability (%) a new stage starts with; won 100, lost 0, a new open stage 0
DEFAULT_PROBABILITY = {
    "Lead": 10,
    "Qualified": 25,
    "Proposal": 50,
    "Negotiation": 75,
    "Won": 100,
    "Lost": 0,
}
MAX_STAGES = 30
MAX_PIPELINES = 20


async def ensure_default_in(conn: asyncpg.Connection, tenant_id: UUID) -> UUID:
    """The default pipeline's id, created on `conn` (the tenant's transaction) if missing."""
    found = await conn.fetchval("select id from pipelines where is_default")
    if found is not None:
        return UUID(str(found))
    pipeline_id = uuid.uuid4()
    created = await conn.fetchval(
        "insert into pipelines (id, tenant_id, name, position, is_default)"
        " values ($1, $2, $3, 0, true)"
        " on conflict (tenant_id) where is_default do nothing returning id",
        pipeline_id,
        tenant_id,
        DEFAULT_PIPELINE,
    )
    if created is None:  # another request made it a moment ago
        return UUID(str(await conn.fetchval("select id from pipelines where is_default")))
    await conn.executemany(
        "insert into stages (id, tenant_id, pipeline_id, name, position, kind, probability)"
        " values ($1, $2, $3, $4, $5, $6, $7)",
        [
            (uuid.uuid4(), tenant_id, pipeline_id, name, index, kind, DEFAULT_PROBABILITY[name])
            for index, (name, kind) in enumerate(DEFAULT_STAGES)
        ],
    )
    return pipeline_id


async def ensure_default_pipeline(tenant_id: UUID) -> UUID:
    """The tenant's default pipeline, created with the standard stages if it has none.

    Joins the caller's transaction for this tenant when one is open (sign-up calls it inside
    its own).
    """
    async with tenant_transaction(tenant_id) as conn:
        return await ensure_default_in(conn, tenant_id)


async def list_pipelines(current: Current) -> list[PipelineInfo]:
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        await ensure_default_in(conn, current.tenant_id)
        rows = await conn.fetch("select * from pipelines order by position, created_at, id")
    return [pipeline_from_row(r) for r in rows]


async def load_board(current: Current, pipeline_id: UUID | None = None) -> Board:
    """A pipeline's board (the default one when no id is given)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        default_id = await ensure_default_in(conn, current.tenant_id)
        rows = await conn.fetch("select * from pipelines order by position, created_at, id")
        pipelines = [pipeline_from_row(r) for r in rows]
        wanted = pipeline_id or default_id
        pipeline = next((p for p in pipelines if p.id == wanted), None)
        if pipeline is None:
            raise RecordNotFound("pipeline")
        columns = await fetch_columns(conn, pipeline.id)
    return Board(pipeline=pipeline, pipelines=pipelines, columns=columns)


async def stages_of(current: Current, pipeline_id: UUID) -> list[StageInfo]:
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        return await fetch_stages(conn, pipeline_id)


async def all_stages(current: Current) -> list[StageInfo]:
    """Every stage of every pipeline (for the deal form's stage picker)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        await ensure_default_in(conn, current.tenant_id)
        rows = await conn.fetch(
            "select s.* from stages s join pipelines p on p.id = s.pipeline_id"
            " order by p.position, p.created_at, s.position, s.created_at"
        )
    return [stage_from_row(r) for r in rows]


# ---- admins edit pipelines and stages ------------------------------------------------------


def _require_admin(current: Current) -> None:
    if not current.is_admin:
        raise Forbidden("Only admins and owners can change pipelines and stages.")


def _announce(tenant_id: UUID, pipeline_id: UUID) -> None:
    async def push() -> None:
        await live.board_changed(tenant_id, pipeline_id)

    live.push_after_commit(push)


async def create_pipeline(current: Current, name: str) -> UUID:
    """A new pipeline (`name` read by NameForm) with the standard stages to edit."""
    _require_admin(current)
    pipeline_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        await ensure_default_in(conn, current.tenant_id)
        count = await conn.fetchval("select count(*) from pipelines")
        if count >= MAX_PIPELINES:
            raise FormInvalid({"name": f"A workspace can have up to {MAX_PIPELINES} pipelines."})
        await conn.execute(
            "insert into pipelines (id, tenant_id, name, position) values ($1, $2, $3, $4)",
            pipeline_id,
            current.tenant_id,
            name,
            count,
        )
        await conn.executemany(
            "insert into stages (id, tenant_id, pipeline_id, name, position, kind, probability)"
            " values ($1, $2, $3, $4, $5, $6, $7)",
            [
                (
                    uuid.uuid4(),
                    current.tenant_id,
                    pipeline_id,
                    stage,
                    index,
                    kind,
                    DEFAULT_PROBABILITY.get(stage, 0),
                )
                for index, (stage, kind) in enumerate(DEFAULT_STAGES)
            ],
        )
    return pipeline_id


async def rename_pipeline(
    current: Current, pipeline_id: UUID, name: str, version: int, stale_days: int | None = None
) -> None:
    """Rename a pipeline still at `version` (EditConflict when renamed meanwhile), and set its
    stale limit when given."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        done = await conn.fetchval(
            "update pipelines set name = $3, stale_days = coalesce($4, stale_days),"
            " version = version + 1, updated_at = now()"
            " where id = $1 and version = $2 returning id",
            pipeline_id,
            version,
            name,
            stale_days,
        )
        if done is None:
            row = await conn.fetchrow("select * from pipelines where id = $1", pipeline_id)
            if row is None:
                raise RecordNotFound("pipeline")
            raise await edit_conflict(
                "pipeline",
                pipeline_id,
                "pipeline",
                {"name": row["name"]},
                {"name": name},
                ("name",),
                row["version"],
            )


async def delete_pipeline(current: Current, pipeline_id: UUID, version: int) -> None:
    """Delete an empty pipeline that is not the default one, as shown (at `version`)."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await conn.fetchrow("select * from pipelines where id = $1 for update", pipeline_id)
        if row is None:
            raise RecordNotFound("pipeline")
        if row["version"] != version:
            raise await stale_page("pipeline", pipeline_id, "pipeline", row["version"])
        if row["is_default"]:
            raise FormInvalid({"form": "The default pipeline can't be deleted."})
        deals = await conn.fetchval(
            "select count(*) from deals where pipeline_id = $1", pipeline_id
        )
        if deals:
            raise FormInvalid(
                {"form": f"This pipeline still has {deals} deal(s). Move or delete them first."}
            )
        await conn.execute("delete from pipelines where id = $1", pipeline_id)


async def add_stage(current: Current, pipeline_id: UUID, name: str, kind: str) -> UUID:
    """A new stage (`name` and `kind` read by StageForm)."""
    _require_admin(current)
    stage_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        if await conn.fetchval("select 1 from pipelines where id = $1", pipeline_id) is None:
            raise RecordNotFound("pipeline")
        count = await conn.fetchval(
            "select count(*) from stages where pipeline_id = $1", pipeline_id
        )
        if count >= MAX_STAGES:
            raise FormInvalid({"name": f"A pipeline can have up to {MAX_STAGES} stages."})
        # new open stages go before the first won/lost stage; won/lost ones go last
        if kind == "open":
            position = await conn.fetchval(
                "select coalesce(min(position), $2) from stages"
                " where pipeline_id = $1 and kind <> 'open'",
                pipeline_id,
                count,
            )
            await conn.execute(
                "update stages set position = position + 1"
                " where pipeline_id = $1 and position >= $2",
                pipeline_id,
                position,
            )
        else:
            position = await conn.fetchval(
                "select coalesce(max(position) + 1, 0) from stages where pipeline_id = $1",
                pipeline_id,
            )
        await conn.execute(
            "insert into stages (id, tenant_id, pipeline_id, name, position, kind, probability)"
            " values ($1, $2, $3, $4, $5, $6, $7)",
            stage_id,
            current.tenant_id,
            pipeline_id,
            name,
            position,
            kind,
            100 if kind == "won" else 0,
        )
        _announce(current.tenant_id, pipeline_id)
    return stage_id


async def update_stage(
    current: Current,
    stage_id: UUID,
    name: str,
    kind: str,
    version: int,
    probability: int | None = None,
) -> None:
    """Rename a stage, change its kind (open, won, lost) or its win probability (won stages
    are 100, lost ones 0; None keeps an open stage's), if it is still at `version`."""
    _require_admin(current)
    fixed = {"won": 100, "lost": 0}.get(kind, probability)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        pipeline_id = await conn.fetchval(
            "update stages set name = $3, kind = $4, probability = coalesce($5, probability),"
            " version = version + 1, updated_at = now()"
            " where id = $1 and version = $2 returning pipeline_id",
            stage_id,
            version,
            name,
            kind,
            fixed,
        )
        if pipeline_id is None:
            row = await conn.fetchrow("select * from stages where id = $1", stage_id)
            if row is None:
                raise RecordNotFound("stage")
            raise await edit_conflict(
                "stage",
                stage_id,
                "stage",
                {"name": row["name"], "kind": row["kind"]},
                {"name": name, "kind": kind},
                ("name", "kind"),
                row["version"],
            )
        _announce(current.tenant_id, pipeline_id)


async def reorder_stages(current: Current, pipeline_id: UUID, ordered: list[UUID]) -> None:
    """Put the pipeline's stages in the given order (every stage exactly once)."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        stages = await fetch_stages(conn, pipeline_id)
        if not stages:
            raise RecordNotFound("pipeline")
        if sorted(ordered) != sorted(s.id for s in stages):
            raise FormInvalid({"form": "The stages changed meanwhile. Reload and try again."})
        await conn.executemany(
            "update stages set position = $2, updated_at = now() where id = $1",
            [(stage_id, index) for index, stage_id in enumerate(ordered)],
        )
        _announce(current.tenant_id, pipeline_id)


async def move_stage(current: Current, stage_id: UUID, direction: str) -> None:
    """Move a stage one place left ("up") or right ("down")."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        pipeline_id = await conn.fetchval("select pipeline_id from stages where id = $1", stage_id)
        if pipeline_id is None:
            raise RecordNotFound("stage")
        order = [s.id for s in await fetch_stages(conn, pipeline_id)]
    index = order.index(stage_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        await reorder_stages(current, pipeline_id, order)


async def delete_stage(current: Current, stage_id: UUID, version: int) -> None:
    """Delete a stage that has no deals (a pipeline keeps at least one stage), as shown."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await conn.fetchrow("select * from stages where id = $1 for update", stage_id)
        if row is None:
            raise RecordNotFound("stage")
        if row["version"] != version:
            raise await stale_page("stage", stage_id, "stage", row["version"])
        deals = await conn.fetchval("select count(*) from deals where stage_id = $1", stage_id)
        if deals:
            raise FormInvalid(
                {"form": f"“{row['name']}” still has {deals} deal(s). Move them first."}
            )
        left = await conn.fetchval(
            "select count(*) from stages where pipeline_id = $1 and id <> $2",
            row["pipeline_id"],
            stage_id,
        )
        if not left:
            raise FormInvalid({"form": "A pipeline needs at least one stage."})
        try:
            await conn.execute("delete from stages where id = $1", stage_id)
        except asyncpg.ForeignKeyViolationError as exc:  # a deal arrived meanwhile
            raise FormInvalid({"form": "A deal was just moved into this stage."}) from exc
        _announce(current.tenant_id, row["pipeline_id"])
