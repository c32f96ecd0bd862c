"""The live board and the pipeline/stage admin pages (thin routes)."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from litestar import Response, get, post

from app.accounts.deps import routes_at
from app.accounts.pages import FormsPage, said
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.folded import folds, take_folded
from app.core.forms import Form, read_form, read_query
from app.core.http_types import Req
from app.core.web import render, render_with_parts
from app.crm.schemas import ConfirmDelete
from app.deals import board_cache, live, moves, pipelines
from app.deals.schemas import (
    STAGE_KINDS,
    MoveForm,
    NameForm,
    PipelineQuery,
    PipelineRename,
    StageEdit,
    StageForm,
    StageMove,
)
from app.realtime import presence

F = TypeVar("F", bound=Form)


@get("/deals/board", opt=folds(board_cache.BOARD_READ))
async def board_page(request: Req, current: Current) -> Response[bytes]:
    """The board: its kept columns in the page, itself kept per the pipelines, totals and
    viewers it shows (and the reader: the layout). The pipelines' versions are read with the
    signed-in check (`folds`): one round trip while the board is kept."""
    wanted = read_query(request, PipelineQuery).pipeline
    folded = take_folded(request.scope, board_cache.BOARD_READ)
    board = await board_cache.board_view(current, wanted, folded)
    people = await presence.recent_viewers(current.tenant_id, f"board:{board.pipeline.id}")
    shown = (
        board.pipeline,
        tuple(board.pipelines),
        board.summary,
        tuple((p["user_id"], p["name"]) for p in people),
    )
    ctx = {"board": board, "people": people}
    parts = {"board_columns": board.columns}
    return render_with_parts(request, "deals/board.html", ctx, parts, kept_by=shown)


@get("/deals/board/{pipeline_id:uuid}/columns")
async def board_columns(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    """The whole board as the server has it (the page resyncs with it after a failed move)."""
    board = await pipelines.load_board(current, pipeline_id)
    html = live.render_push(board=(board.pipeline.id, board.columns))
    return Response(html, media_type="text/html")


@get("/deals/board/{pipeline_id:uuid}/summary")
async def board_summary_part(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    """The board's totals line as the database has it now (after a live move)."""
    board = await board_cache.board_view(current, pipeline_id)
    return render(request, "deals/summary.html", {"summary": board.summary})


async def _refused_move(refused: FormInvalid) -> Response[str]:
    """A drag the board could not have sent: a toast (the board puts the card back)."""
    message = " ".join(refused.errors.values())
    return Response(live.render_push(toast=("error", message)), media_type="text/html")


@post("/deals/{deal_id:uuid}/move")
async def deal_move(request: Req, current: Current, deal_id: UUID) -> Response[str]:
    """A board drag: answer with the touched columns as the server has them (+ a toast if
    refused), so the mover's card always ends where the database says it is."""
    form = await read_form(request, MoveForm, page=_refused_move)
    outcome = await moves.move_deal(
        current,
        deal_id,
        form.stage_id,
        form.version,
        after_id=form.after_id,
        lost_reason=form.lost_reason,
        from_stage_id=form.from_stage_id,
    )
    if outcome.ok:
        html = live.columns_answer(outcome.columns, outcome.pushed)
    else:
        deleted = [deal_id] if outcome.pipeline_id is None else []
        toast = ("warning", outcome.message)
        html = live.render_push(columns=outcome.columns, toast=toast, deleted=deleted)
    headers = {} if outcome.ok else {"X-Odex-Move": "refused"}
    return Response(html, media_type="text/html", headers=headers, status_code=200)


# ---- admin: pipelines and stages ---------------------------------------------------------


async def _admin_context(current: Current) -> dict[str, object]:
    items = [
        {"pipeline": p, "stages": await pipelines.stages_of(current, p.id)}
        for p in await pipelines.list_pipelines(current)
    ]
    return {"pipelines": items, "kinds": STAGE_KINDS}


# a refused change says why at the top (every form on the page has the same field names, so
# the messages can't sit beside one of them)
ADMIN = FormsPage(
    "/deals/pipelines", "deals/pipelines.html", _admin_context, errors_of=FormInvalid.beside
)
PIPELINE, STAGE = "/deals/pipelines/{pipeline_id:uuid}", "/deals/stages/{stage_id:uuid}"
pipelines_page = ADMIN.page()
pipeline_create = ADMIN.action(
    ADMIN.path,
    NameForm,
    lambda c, f: said(pipelines.create_pipeline(c, f.name), "Pipeline added."),
)
pipeline_rename = ADMIN.item_action(
    f"{PIPELINE}/rename",
    PipelineRename,
    lambda c, pipeline_id, f: said(
        pipelines.rename_pipeline(c, pipeline_id, f.name, f.version, f.stale_days),
        "Pipeline renamed.",
    ),
)
pipeline_delete = ADMIN.item_action(
    f"{PIPELINE}/delete",
    ConfirmDelete,
    lambda c, pipeline_id, f: said(
        pipelines.delete_pipeline(c, pipeline_id, f.version), "Pipeline deleted."
    ),
)
stage_add = ADMIN.item_action(
    f"{PIPELINE}/stages",
    StageForm,
    lambda c, pipeline_id, f: said(
        pipelines.add_stage(c, pipeline_id, f.name, f.kind), "Stage added."
    ),
)
stage_update = ADMIN.item_action(
    STAGE,
    StageEdit,
    lambda c, stage_id, f: said(
        pipelines.update_stage(c, stage_id, f.name, f.kind, f.version, f.probability),
        "Stage saved.",
    ),
)
stage_move = ADMIN.item_action(
    f"{STAGE}/move",
    StageMove,
    lambda c, stage_id, f: said(pipelines.move_stage(c, stage_id, f.direction), "Stage moved."),
)
stage_delete = ADMIN.item_action(
    f"{STAGE}/delete",
    ConfirmDelete,
    lambda c, stage_id, f: said(pipelines.delete_stage(c, stage_id, f.version), "Stage deleted."),
)


ROUTES = [
    routes_at(Level.MEMBER, [board_page, board_columns, board_summary_part, deal_move]),
    routes_at(
        Level.ADMIN,
        [
            pipelines_page,
            pipeline_create,
            pipeline_rename,
            pipeline_delete,
            stage_add,
            stage_update,
            stage_move,
            stage_delete,
        ],
    ),
]
