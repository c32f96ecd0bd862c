"""/api/v1/deals (with the board move) and /api/v1/pipelines (read): the deals domain's own
services behind them, so every open board gets the same live pushes as a drag."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import get, post

from app.accounts.schemas import Current
from app.api.auth import needs
from app.api.conformance import bind
from app.api.listing import form_source as source
from app.api.listing import version_of
from app.api.resource import Resource, Values
from app.api.schemas import DealIn, DealMove, DealOut, PipelineList, PipelineOut, StageOut
from app.core.db import tenant_transaction
from app.core.errors import EditConflict, FormInvalid, RecordNotFound
from app.core.forms import parse
from app.core.http_types import Req
from app.deals import moves, pipelines, reading, services
from app.deals.schemas import DealEdit, DealForm, MoveForm, PipelineInfo


async def _editable(current: Current, deal_id: UUID) -> Values:
    """The deal as its edit form starts from (its contacts included)."""
    detail = await reading.get_deal(current, deal_id)
    return {
        **msgspec.structs.asdict(detail.card),
        "contact_ids": [c.id for c in detail.contacts],
        "lost_reason": detail.card.lost_reason or "",
    }


async def _card_after(
    current: Current, stage_id: UUID, deal_id: UUID, position: int
) -> UUID | None:
    """The card a move to `position` (0 = top) of `stage_id` goes after (past the end: the
    last card, so the deal goes to the bottom)."""
    if position <= 0:
        return None
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        found: UUID | None = await conn.fetchval(
            "select id from (select id, position from deals where stage_id = $1 and id <> $2"
            " order by position, id limit $3) first_ones order by position desc, id desc limit 1",
            stage_id,
            deal_id,
            position,
        )
    return found


@post("/deals/{deal_id:uuid}/move", opt=needs("deals", "write"), status_code=200)
async def move_deal(request: Req, current: Current, deal_id: UUID, data: DealMove) -> DealOut:
    """Move a deal to a stage at a position, exactly as a drag on the board does (every open
    board gets the move live); a stale version is 409, a deleted deal 404."""
    before = await DEALS.read(current, deal_id)
    values = {
        "stage_id": data.stage_id,
        "version": version_of(request, data.version),
        "after_id": await _card_after(current, data.stage_id, deal_id, data.position),
        "from_stage_id": before.stage_id,
        "lost_reason": data.lost_reason,
    }
    form = parse(MoveForm, source(values))  # the board's own move input
    outcome = await moves.move_deal(
        current, deal_id, form.stage_id, form.version, form.after_id, form.lost_reason,
        form.from_stage_id,
    )  # fmt: skip
    if outcome.ok:
        return await DEALS.read(current, deal_id)
    if outcome.pipeline_id is None:
        raise RecordNotFound("deal")
    if outcome.message == moves.STALE:
        now = await DEALS.read(current, deal_id)
        raise EditConflict(outcome.message, {}, now.version)
    raise FormInvalid({"stage_id": outcome.message})


DEALS = Resource(
    name="deals",
    one="deal",
    search="r.title",
    out=DealOut,
    body=DealIn,
    create=(DealForm, services.create_deal),
    update=(DealEdit, services.update_deal),
    delete=services.delete_deal,
    before=_editable,
    about="Deals (q: title; owner; updated_since), sorted, paged.",
    extra=(move_deal,),
)


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
    """One pipeline with its stages."""
    for info in await pipelines.list_pipelines(current):
        if info.id == pipeline_id:
            return await _pipeline(current, info)
    raise RecordNotFound("pipeline")


bind(DealMove, MoveForm)
ROUTES = [*DEALS.routes(), list_pipelines, get_pipeline]
