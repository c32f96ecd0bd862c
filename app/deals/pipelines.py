"""Pipeline actions: the default pipeline, the board, and admins editing ordered stages."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from functools import partial
from typing import overload
from uuid import UUID

import asyncpg
import msgspec
from piccolo.query.functions.aggregate import Max, Min
from piccolo.querystring import QueryString

from app.accounts.roles import require_admin
from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.paging import Window
from app.core.rows import rows_as
from app.core.versioned import update_at_version
from app.crm.activity import edit_conflict, stale_page
from app.crm.custom_sort import list_spec
from app.crm.filters import Column, DealView, text_column, time_column
from app.deals import live, queries
from app.deals.queries import create_default_pipeline, fetch_columns
from app.deals.schemas import Board, DealTable, PipelineInfo, StageInfo
from app.deals.stages import all_stages as all_stages_in_order
from app.deals.stages import pipeline_stages
from app.deals.tables import Deal, Pipeline, Stage

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
NOW = QueryString("now()")  # the transaction's time, as the database's defaults use


async def ensure_default_in(conn: asyncpg.Connection, tenant_id: UUID) -> UUID:
    """The default pipeline's id, created on `conn` (the tenant's transaction) if missing."""
    found = await _default_pipeline_id()
    if found is not None:
        return found
    pipeline_id = uuid.uuid4()
    if not await create_default_pipeline(conn, pipeline_id, tenant_id, DEFAULT_PIPELINE):
        made = await _default_pipeline_id()  # another request made it a moment ago
        assert made is not None
        return made
    await _add_default_stages(tenant_id, pipeline_id)
    return pipeline_id


async def _default_pipeline_id() -> UUID | None:
    row = await Pipeline.select(Pipeline.id).where(Pipeline.is_default.eq(True)).first()
    return None if row is None else UUID(str(row["id"]))


async def _insert_stages(tenant_id: UUID, stages: Iterable[StageInfo]) -> None:
    """Store new stages of a pipeline (each row from its stage's fields)."""
    await Stage.insert(
        *(Stage(tenant_id=tenant_id, **msgspec.structs.asdict(stage)) for stage in stages)
    )


async def _add_default_stages(tenant_id: UUID, pipeline_id: UUID) -> None:
    defaults = enumerate(DEFAULT_STAGES)
    await _insert_stages(
        tenant_id,
        [
            StageInfo(uuid.uuid4(), pipeline_id, n, i, k, probability=DEFAULT_PROBABILITY.get(n, 0))
            for i, (n, k) in defaults
        ],
    )


async def all_pipelines() -> list[PipelineInfo]:
    """The workspace's pipelines in board order (inside its tenant transaction)."""
    rows = await Pipeline.select().order_by(Pipeline.position, Pipeline.created_at, Pipeline.id)
    return rows_as(PipelineInfo, rows)


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
        return await all_pipelines()


async def load_board(current: Current, pipeline_id: UUID | None = None) -> Board:
    """A pipeline's board (the default one when no id is given)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        pipelines = await all_pipelines()  # the default among them (made first if missing)
        default_id = next((p.id for p in pipelines if p.is_default), None)
        if default_id is None:
            default_id = await ensure_default_in(conn, current.tenant_id)
            pipelines = await all_pipelines()
        wanted = pipeline_id or default_id
        pipeline = next((p for p in pipelines if p.id == wanted), None)
        if pipeline is None:
            raise RecordNotFound("pipeline")
        columns = await fetch_columns(conn, pipeline.id)
    return Board(pipeline=pipeline, pipelines=pipelines, columns=columns)


# the deals table's sortable columns (app/crm/filters.py); "created", its default, first
DEAL_COLUMNS = {
    "created": time_column("Created", "d.created_at"),
    "title": text_column("Title", "d.title"),
    "amount": Column("Value", ("d.amount",), ("decimal",), descending=True),
    "stage": Column("Stage", ("s.position",), ("int",)),
    "owner": text_column("Owner", "u.name"),
    "company": text_column("Company", "c.name"),
    "close": Column(
        "Expected close", ("coalesce(d.expected_close_date, 'infinity'::date)",), ("date",)
    ),
    "updated": time_column("Updated", "d.updated_at"),
}


class TableView(msgspec.Struct, frozen=True):
    """The deals table of a pipeline: its page and totals, the pipelines and its stages."""

    pipeline: PipelineInfo
    pipelines: list[PipelineInfo]
    stages: list[StageInfo]
    table: DealTable


async def deal_table(current: Current, view: DealView, limit: int = 50) -> TableView:
    """The pipeline's deals `view` shows (the default pipeline when it names none; another
    workspace's: RecordNotFound), a page of them and the totals per currency of them all."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        spec = await list_spec(DEAL_COLUMNS, "created", view, "d", "d.id")
        window = Window(spec, view.after or None, view.before or None, limit)
        default_id = await ensure_default_in(conn, current.tenant_id)
        pipelines = await all_pipelines()
        wanted = view.pipeline or default_id
        pipeline = next((p for p in pipelines if p.id == wanted), None)
        if pipeline is None:
            raise RecordNotFound("pipeline")
        stages = await pipeline_stages(pipeline.id)
        table = await queries.deal_table(conn, current.tenant_id, pipeline.id, view, window)
    return TableView(pipeline=pipeline, pipelines=pipelines, stages=stages, table=table)


async def stages_of(current: Current, pipeline_id: UUID) -> list[StageInfo]:
    async with tenant_transaction(current.tenant_id, current.user_id):
        return await pipeline_stages(pipeline_id)


async def all_stages(current: Current) -> list[StageInfo]:
    """Every stage of every pipeline (for the deal form's stage picker)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        await ensure_default_in(conn, current.tenant_id)
        return await all_stages_in_order()


# ---- admins edit pipelines and stages ------------------------------------------------------


_require_admin = partial(
    require_admin, why="Only admins and owners can change pipelines and stages."
)


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
        count = await Pipeline.count()
        if count >= MAX_PIPELINES:
            raise FormInvalid({"name": f"A workspace can have up to {MAX_PIPELINES} pipelines."})
        await Pipeline.insert(
            Pipeline(id=pipeline_id, tenant_id=current.tenant_id, name=name, position=count)
        )
        await _add_default_stages(current.tenant_id, pipeline_id)
    return pipeline_id


async def rename_pipeline(
    current: Current, pipeline_id: UUID, name: str, version: int, stale_days: int | None = None
) -> None:
    """Rename a pipeline still at `version` (EditConflict when renamed meanwhile), and set its
    stale limit when given."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id):
        changes = {} if stale_days is None else {"stale_days": stale_days}
        await _save_at_version(Pipeline, pipeline_id, version, {"name": name}, changes)


async def delete_pipeline(current: Current, pipeline_id: UUID, version: int) -> None:
    """Delete an empty pipeline that is not the default one, as shown (at `version`)."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id):
        row = await _lock_as_shown(Pipeline, pipeline_id, version)
        if row.is_default:
            raise FormInvalid({"form": "The default pipeline can't be deleted."})
        deals = await Deal.count().where(Deal.pipeline_id == pipeline_id)
        if deals:
            raise FormInvalid(
                {"form": f"This pipeline still has {deals} deal(s). Move or delete them first."}
            )
        await Pipeline.delete().where(Pipeline.id == pipeline_id)


async def add_stage(current: Current, pipeline_id: UUID, name: str, kind: str) -> UUID:
    """A new stage (`name` and `kind` read by StageForm)."""
    _require_admin(current)
    stage_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id):
        if not await Pipeline.exists().where(Pipeline.id == pipeline_id):
            raise RecordNotFound("pipeline")
        in_pipeline = Stage.pipeline_id == pipeline_id
        count = await Stage.count().where(in_pipeline)
        if count >= MAX_STAGES:
            raise FormInvalid({"name": f"A pipeline can have up to {MAX_STAGES} stages."})
        # new open stages go before the first won/lost stage; won/lost ones go last
        if kind == "open":
            first_closed = await (
                Stage.select(Min(Stage.position, alias="low"))
                .where(in_pipeline & (Stage.kind != "open"))
                .first()
            )
            low = None if first_closed is None else first_closed["low"]
            position = count if low is None else int(low)
            await Stage.update({Stage.position: Stage.position + 1}).where(
                in_pipeline & (Stage.position >= position)
            )
        else:
            last = await Stage.select(Max(Stage.position, alias="high")).where(in_pipeline).first()
            high = None if last is None else last["high"]
            position = 0 if high is None else int(high) + 1
        probability = 100 if kind == "won" else 0
        new = StageInfo(stage_id, pipeline_id, name, position, kind, probability=probability)
        await _insert_stages(current.tenant_id, [new])
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
    async with tenant_transaction(current.tenant_id, current.user_id):
        changes = {} if fixed is None else {"probability": fixed}
        mine = {"name": name, "kind": kind}
        saved = await _save_at_version(Stage, stage_id, version, mine, changes)
        _announce(current.tenant_id, UUID(str(saved["pipeline_id"])))


async def _save_at_version(
    table: type[Pipeline] | type[Stage],
    record_id: UUID,
    version: int,
    mine: Mapping[str, object],
    changes: Mapping[str, object],
) -> dict[str, object]:
    """Write the user's fields (`mine`) and other `changes`, by column name, to a pipeline or
    stage still at `version`, bumping it; the saved row. RecordNotFound when it is gone,
    EditConflict (the stored fields beside `mine`) when it was saved meanwhile."""
    saved = await update_at_version(
        table, record_id, version, {**mine, **changes, "updated_at": NOW}
    )
    if saved is not None:
        return saved
    what = _what(table)
    row = await table.objects().where(table.id == record_id).first()
    if row is None:
        raise RecordNotFound(what)
    stored = {k: getattr(row, k) for k in mine}
    raise await edit_conflict(what, record_id, what, stored, mine, tuple(mine), row.version)


def _what(table: type[Pipeline] | type[Stage]) -> str:
    return "pipeline" if table is Pipeline else "stage"


@overload
async def _lock_as_shown(table: type[Pipeline], record_id: UUID, version: int) -> Pipeline: ...
@overload
async def _lock_as_shown(table: type[Stage], record_id: UUID, version: int) -> Stage: ...
async def _lock_as_shown(
    table: type[Pipeline] | type[Stage], record_id: UUID, version: int
) -> Pipeline | Stage:
    """The pipeline or stage locked for a delete chosen on a page that showed `version`:
    RecordNotFound when it is gone, the page again (EditConflict) when it changed since."""
    row = await table.objects().where(table.id == record_id).lock_rows("UPDATE").first()
    what = _what(table)
    if row is None:
        raise RecordNotFound(what)
    if row.version != version:
        raise await stale_page(what, record_id, what, row.version)
    return row


async def reorder_stages(current: Current, pipeline_id: UUID, ordered: list[UUID]) -> None:
    """Put the pipeline's stages in the given order (every stage exactly once)."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id):
        stages = await pipeline_stages(pipeline_id)
        if not stages:
            raise RecordNotFound("pipeline")
        if sorted(ordered) != sorted(s.id for s in stages):
            raise FormInvalid({"form": "The stages changed meanwhile. Reload and try again."})
        for index, stage_id in enumerate(ordered):
            await Stage.update({Stage.position: index, Stage.updated_at: NOW}).where(
                Stage.id == stage_id
            )
        _announce(current.tenant_id, pipeline_id)


async def move_stage(current: Current, stage_id: UUID, direction: str) -> None:
    """Move a stage one place left ("up") or right ("down")."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id):
        found = await Stage.select(Stage.pipeline_id).where(Stage.id == stage_id).first()
        if found is None:
            raise RecordNotFound("stage")
        pipeline_id = UUID(str(found["pipeline_id"]))
        order = [s.id for s in await pipeline_stages(pipeline_id)]
    index = order.index(stage_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        await reorder_stages(current, pipeline_id, order)


async def delete_stage(current: Current, stage_id: UUID, version: int) -> None:
    """Delete a stage that has no deals (a pipeline keeps at least one stage), as shown."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id):
        row = await _lock_as_shown(Stage, stage_id, version)
        deals = await Deal.count().where(Deal.stage_id == stage_id)
        if deals:
            raise FormInvalid({"form": f"“{row.name}” still has {deals} deal(s). Move them first."})
        left = await Stage.count().where(
            (Stage.pipeline_id == row.pipeline_id) & (Stage.id != stage_id)
        )
        if not left:
            raise FormInvalid({"form": "A pipeline needs at least one stage."})
        try:
            await Stage.delete().where(Stage.id == stage_id)
        except asyncpg.ForeignKeyViolationError as exc:  # a deal arrived meanwhile
            raise FormInvalid({"form": "A deal was just moved into this stage."}) from exc
        _announce(current.tenant_id, row.pipeline_id)
