"""/api/v1/deals (with the board move) and /api/v1/pipelines (read): thin routes over the
deals domain's services, so every open board gets the same live pushes as a drag."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Response, delete, get, patch, post

from app.accounts.schemas import Current
from app.api.auth import needs
from app.api.crm_routes import tagged
from app.api.listing import (
    Filters,
    Listing,
    list_page,
    merged,
    one_row,
    sent_fields,
    version_of,
)
from app.api.listing import form_source as source
from app.api.schemas import (
    DealIn,
    DealList,
    DealMove,
    DealOut,
    PipelineList,
    PipelineOut,
    StageOut,
)
from app.core.db import tenant_transaction
from app.core.errors import EditConflict, FormInvalid, RecordNotFound
from app.core.forms import parse
from app.core.http_types import Req
from app.deals import moves, pipelines, reading, services
from app.deals.schemas import DealEdit, DealForm, MoveForm, PipelineInfo

DEALS = Listing(
    from_sql="deals r",
    select=(
        "r.id, r.title, r.amount, r.currency, r.pipeline_id, r.stage_id, r.position,"
        " r.owner_id, r.company_id, r.expected_close_date, r.lost_reason, r.version,"
        " r.created_at, r.updated_at"
    ),
    search="r.title",
    owner="r.owner_id",
)
DEAL_FIELDS = (
    "title",
    "stage_id",
    "amount",
    "currency",
    "expected_close_date",
    "owner_id",
    "company_id",
    "contact_ids",
    "lost_reason",
)


async def _deal(current: Current, deal_id: UUID) -> DealOut:
    return msgspec.convert(await one_row(current, DEALS, deal_id), DealOut)


@get("/deals", opt=needs("deals", "read"))
async def list_deals(current: Current, filters: Filters) -> DealList:
    """Deals, filtered (q: title; owner; updated_since), sorted, paged."""
    page = await list_page(current, DEALS, filters)
    return DealList(msgspec.convert(page.rows, list[DealOut]), page.next_cursor)


@get("/deals/{deal_id:uuid}", opt=needs("deals", "read"))
async def get_deal(current: Current, deal_id: UUID) -> Response[DealOut]:
    found = await _deal(current, deal_id)
    return tagged(found, found.version)  # type: ignore[return-value]


@post("/deals", opt=needs("deals", "write"))
async def create_deal(current: Current, data: DealIn) -> DealOut:
    """A new deal at the bottom of its stage (on every open board at once)."""
    form = parse(DealForm, source(sent_fields(data)))
    return await _deal(current, await services.create_deal(current, form))


@patch("/deals/{deal_id:uuid}", opt=needs("deals", "write"))
async def update_deal(request: Req, current: Current, deal_id: UUID, data: DealIn) -> DealOut:
    version = version_of(request, data.version)
    detail = await reading.get_deal(current, deal_id)
    before = {
        **msgspec.structs.asdict(detail.card),
        "contact_ids": [c.id for c in detail.contacts],
        "lost_reason": detail.card.lost_reason or "",
    }
    values = {**merged(before, data, DEAL_FIELDS), "version": version}
    await services.update_deal(current, deal_id, parse(DealEdit, source(values)))
    return await _deal(current, deal_id)


@delete("/deals/{deal_id:uuid}", opt=needs("deals", "write"))
async def delete_deal(
    request: Req, current: Current, deal_id: UUID, version: int | None = None
) -> None:
    await services.delete_deal(current, deal_id, version_of(request, version))


async def _card_after(
    current: Current, stage_id: UUID, deal_id: UUID, position: int
) -> UUID | None:
    """The card a move to `position` (0 = top) of `stage_id` goes after."""
    if position <= 0:
        return None
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        found: UUID | None = await conn.fetchval(
            "select id from deals where stage_id = $1 and id <> $2"
            " order by position, id offset $3 limit 1",
            stage_id,
            deal_id,
            position - 1,
        )
    if found is None:  # past the end: the bottom
        async with tenant_transaction(current.tenant_id, current.user_id) as conn:
            found = await conn.fetchval(
                "select id from deals where stage_id = $1 and id <> $2"
                " order by position desc, id desc limit 1",
                stage_id,
                deal_id,
            )
    return found


@post("/deals/{deal_id:uuid}/move", opt=needs("deals", "write"), status_code=200)
async def move_deal(request: Req, current: Current, deal_id: UUID, data: DealMove) -> DealOut:
    """Move a deal to a stage at a position, exactly as a drag on the board does (every open
    board gets the move live); a stale version is 409, a deleted deal 404."""
    version = version_of(request, data.version)
    before = await _deal(current, deal_id)
    after_id = await _card_after(current, data.stage_id, deal_id, data.position)
    values = {
        "stage_id": data.stage_id,
        "version": version,
        "after_id": after_id,
        "from_stage_id": before.stage_id,
        "lost_reason": data.lost_reason,
    }
    form = parse(MoveForm, source(values))  # the board's own move input
    outcome = await moves.move_deal(
        current,
        deal_id,
        form.stage_id,
        form.version,
        after_id=form.after_id,
        lost_reason=form.lost_reason,
        from_stage_id=form.from_stage_id,
    )
    if not outcome.ok:
        if outcome.pipeline_id is None:
            raise RecordNotFound("deal")
        if outcome.message == moves.STALE:
            now = await _deal(current, deal_id)
            raise EditConflict(outcome.message, {}, now.version)
        raise FormInvalid({"stage_id": outcome.message})
    return await _deal(current, deal_id)


# ---- pipelines and stages (read) ---------------------------------------------------------


async def _pipeline(current: Current, info: PipelineInfo) -> PipelineOut:
    stages = await pipelines.stages_of(current, info.id)
    return PipelineOut(
        info.id,
        info.name,
        info.is_default,
        [StageOut(s.id, s.pipeline_id, s.name, s.position, s.kind, s.probability) for s in stages],
    )


@get("/pipelines", opt=needs("pipelines", "read"))
async def list_pipelines(current: Current) -> PipelineList:
    """Every pipeline of the workspace with its stages in board order."""
    return PipelineList(
        [await _pipeline(current, p) for p in await pipelines.list_pipelines(current)]
    )


@get("/pipelines/{pipeline_id:uuid}", opt=needs("pipelines", "read"))
async def get_pipeline(current: Current, pipeline_id: UUID) -> PipelineOut:
    for info in await pipelines.list_pipelines(current):
        if info.id == pipeline_id:
            return await _pipeline(current, info)
    raise RecordNotFound("pipeline")


ROUTES = [
    list_deals,
    get_deal,
    create_deal,
    update_deal,
    delete_deal,
    move_deal,
    list_pipelines,
    get_pipeline,
]
