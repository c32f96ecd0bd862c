"""The live board and the pipeline/stage admin pages (thin routes)."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial
from uuid import UUID

from litestar import Response, get, post

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid, FormPage
from app.core.forms import read_form, read_query
from app.core.http_types import Req
from app.core.web import get_session, redirect, render
from app.crm.schemas import ConfirmDelete
from app.deals import live, moves, pipelines
from app.deals.schemas import (
    STAGE_KINDS,
    MoveForm,
    NameForm,
    PipelineQuery,
    PipelineRename,
    StageEdit,
    StageForm,
    StageMove,
    board_summary,
)
from app.realtime import presence


@get("/deals/board")
async def board_page(request: Req, current: Current) -> Response[str]:
    board = await pipelines.load_board(current, read_query(request, PipelineQuery).pipeline)
    people = await presence.viewers(current.tenant_id, f"board:{board.pipeline.id}")
    ctx = {"board": board, "people": people, "summary": board_summary(board.columns)}
    return render(request, "deals/board.html", ctx)


@get("/deals/board/{pipeline_id:uuid}/columns")
async def board_columns(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    """The whole board as the server has it (the page resyncs with it after a failed move)."""
    board = await pipelines.load_board(current, pipeline_id)
    html = live.render_push(board=(board.pipeline.id, board.columns))
    return Response(html, media_type="text/html")


@get("/deals/board/{pipeline_id:uuid}/summary")
async def board_summary_part(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    """The board's totals line as the database has it now (after a live move)."""
    board = await pipelines.load_board(current, pipeline_id)
    ctx = {"summary": board_summary(board.columns), "pipeline_id": board.pipeline.id}
    return render(request, "deals/summary.html", ctx)


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
    toast = None if outcome.ok else ("warning", outcome.message)
    deleted = [deal_id] if not outcome.ok and outcome.pipeline_id is None else []
    html = live.render_push(columns=outcome.columns, toast=toast, deleted=deleted)
    headers = {} if outcome.ok else {"X-Odex-Move": "refused"}
    return Response(html, media_type="text/html", headers=headers, status_code=200)


# ---- admin: pipelines and stages ---------------------------------------------------------


async def _admin_page(
    request: Req, current: Current, refused: FormInvalid | None = None
) -> Response[str]:
    """The pipelines page; a refused change says why at the top (every form on the page has
    the same field names, so the messages can't sit beside one of them)."""
    items = [
        {"pipeline": p, "stages": await pipelines.stages_of(current, p.id)}
        for p in await pipelines.list_pipelines(current)
    ]
    errors = refused.beside() if refused else {}
    ctx = {"pipelines": items, "kinds": STAGE_KINDS, "errors": errors}
    return render(request, "deals/pipelines.html", ctx)


async def _admin_action(request: Req, action: Awaitable[object], message: str) -> Response[str]:
    await action
    get_session(request).flash("success", message)
    return redirect(request, "/deals/pipelines")


def _admin_refusals(request: Req, current: Current) -> FormPage:
    """Refused pipeline and stage changes show the pipelines page again (422 / 409)."""
    return partial(_admin_page, request, current)


@get("/deals/pipelines")
async def pipelines_page(request: Req, current: Current) -> Response[str]:
    return await _admin_page(request, current)


@post("/deals/pipelines")
async def pipeline_create(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, NameForm, page=_admin_refusals(request, current))
    return await _admin_action(
        request, pipelines.create_pipeline(current, form.name), "Pipeline added."
    )


@post("/deals/pipelines/{pipeline_id:uuid}/rename")
async def pipeline_rename(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    form = await read_form(request, PipelineRename, page=_admin_refusals(request, current))
    action = pipelines.rename_pipeline(
        current, pipeline_id, form.name, form.version, form.stale_days
    )
    return await _admin_action(request, action, "Pipeline renamed.")


@post("/deals/pipelines/{pipeline_id:uuid}/delete")
async def pipeline_delete(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    form = await read_form(request, ConfirmDelete, page=_admin_refusals(request, current))
    action = pipelines.delete_pipeline(current, pipeline_id, form.version)
    return await _admin_action(request, action, "Pipeline deleted.")


@post("/deals/pipelines/{pipeline_id:uuid}/stages")
async def stage_add(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    form = await read_form(request, StageForm, page=_admin_refusals(request, current))
    action = pipelines.add_stage(current, pipeline_id, form.name, form.kind)
    return await _admin_action(request, action, "Stage added.")


@post("/deals/stages/{stage_id:uuid}")
async def stage_update(request: Req, current: Current, stage_id: UUID) -> Response[str]:
    form = await read_form(request, StageEdit, page=_admin_refusals(request, current))
    action = pipelines.update_stage(
        current, stage_id, form.name, form.kind, form.version, form.probability
    )
    return await _admin_action(request, action, "Stage saved.")


@post("/deals/stages/{stage_id:uuid}/move")
async def stage_move(request: Req, current: Current, stage_id: UUID) -> Response[str]:
    form = await read_form(request, StageMove, page=_admin_refusals(request, current))
    action = pipelines.move_stage(current, stage_id, form.direction)
    return await _admin_action(request, action, "Stage moved.")


@post("/deals/stages/{stage_id:uuid}/delete")
async def stage_delete(request: Req, current: Current, stage_id: UUID) -> Response[str]:
    form = await read_form(request, ConfirmDelete, page=_admin_refusals(request, current))
    action = pipelines.delete_stage(current, stage_id, form.version)
    return await _admin_action(request, action, "Stage deleted.")


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
