"""The live board and the pipeline/stage admin pages (thin routes)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import Parameter

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.web import get_session, redirect, render
from app.deals import live, moves, pipelines
from app.deals.schemas import STAGE_KINDS
from app.realtime import presence

Req = Request[Any, Any, Any]


def _uuid_or_none(raw: Any) -> UUID | None:
    try:
        return UUID(str(raw)) if raw else None
    except ValueError:
        return None


@get("/deals/board")
async def board_page(
    request: Req,
    current: Current,
    pipeline: str = Parameter(query="pipeline", default="", max_length=64),
) -> Response[str]:
    board = await pipelines.load_board(current, _uuid_or_none(pipeline))
    people = await presence.viewers(current.tenant_id, f"board:{board.pipeline.id}")
    return render(request, "deals/board.html", {"board": board, "people": people})


@get("/deals/board/{pipeline_id:uuid}/columns")
async def board_columns(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    """The whole board as the server has it (the page resyncs with it after a failed move)."""
    board = await pipelines.load_board(current, pipeline_id)
    html = live.render_push(board=(board.pipeline.id, board.columns))
    return Response(html, media_type="text/html")


@post("/deals/{deal_id:uuid}/move")
async def deal_move(request: Req, current: Current, deal_id: UUID) -> Response[str]:
    """A board drag: answer with the touched columns as the server has them (+ a toast if
    refused), so the mover's card always ends where the database says it is."""
    form = await request.form()
    stage_id = _uuid_or_none(form.get("stage_id"))
    version_raw = str(form.get("version", ""))
    if stage_id is None or not version_raw.isdigit() or len(version_raw) > 9:
        html = live.render_push(toast=("error", "That move didn't make sense. Reload the board."))
        return Response(html, media_type="text/html", status_code=200)
    outcome = await moves.move_deal(
        current,
        deal_id,
        stage_id,
        int(version_raw),
        after_id=_uuid_or_none(form.get("after_id")),
        lost_reason=str(form.get("lost_reason", "")),
        from_stage_id=_uuid_or_none(form.get("from_stage_id")),
    )
    columns = []
    if outcome.pipeline_id is not None and outcome.stage_ids:
        columns = await live.columns_now(current.tenant_id, outcome.pipeline_id, outcome.stage_ids)
    toast = None if outcome.ok else ("warning", outcome.message)
    deleted = [deal_id] if not outcome.ok and outcome.pipeline_id is None else []
    html = live.render_push(columns=columns, toast=toast, deleted=deleted)
    headers = {} if outcome.ok else {"X-Odex-Move": "refused"}
    return Response(html, media_type="text/html", headers=headers, status_code=200)


# ---- admin: pipelines and stages ---------------------------------------------------------


async def _admin_page(
    request: Req, current: Current, errors: dict[str, str], status: int = 200
) -> Response[str]:
    items = [
        {"pipeline": p, "stages": await pipelines.stages_of(current, p.id)}
        for p in await pipelines.list_pipelines(current)
    ]
    ctx = {"pipelines": items, "kinds": STAGE_KINDS, "errors": errors}
    return render(request, "deals/pipelines.html", ctx, status=status)


async def _fields(request: Req) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


async def _admin_action(
    request: Req, current: Current, action: Awaitable[Any], message: str
) -> Response[str]:
    try:
        await action
    except FormInvalid as exc:
        first = next(iter(exc.errors.values()))
        return await _admin_page(request, current, {"form": first}, status=422)
    get_session(request).flash("success", message)
    return redirect(request, "/deals/pipelines")


@get("/deals/pipelines")
async def pipelines_page(request: Req, current: Current) -> Response[str]:
    return await _admin_page(request, current, {})


@post("/deals/pipelines")
async def pipeline_create(request: Req, current: Current) -> Response[str]:
    data = await _fields(request)
    action = pipelines.create_pipeline(current, data.get("name", ""))
    return await _admin_action(request, current, action, "Pipeline added.")


@post("/deals/pipelines/{pipeline_id:uuid}/rename")
async def pipeline_rename(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    data = await _fields(request)
    action = pipelines.rename_pipeline(current, pipeline_id, data.get("name", ""))
    return await _admin_action(request, current, action, "Pipeline renamed.")


@post("/deals/pipelines/{pipeline_id:uuid}/delete")
async def pipeline_delete(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    action = pipelines.delete_pipeline(current, pipeline_id)
    return await _admin_action(request, current, action, "Pipeline deleted.")


@post("/deals/pipelines/{pipeline_id:uuid}/stages")
async def stage_add(request: Req, current: Current, pipeline_id: UUID) -> Response[str]:
    data = await _fields(request)
    action = pipelines.add_stage(
        current, pipeline_id, data.get("name", ""), data.get("kind", "open")
    )
    return await _admin_action(request, current, action, "Stage added.")


@post("/deals/stages/{stage_id:uuid}")
async def stage_update(request: Req, current: Current, stage_id: UUID) -> Response[str]:
    data = await _fields(request)
    action = pipelines.update_stage(
        current, stage_id, data.get("name", ""), data.get("kind", "open")
    )
    return await _admin_action(request, current, action, "Stage saved.")


@post("/deals/stages/{stage_id:uuid}/move")
async def stage_move(request: Req, current: Current, stage_id: UUID) -> Response[str]:
    data = await _fields(request)
    direction = "up" if data.get("direction") == "up" else "down"
    action = pipelines.move_stage(current, stage_id, direction)
    return await _admin_action(request, current, action, "Stage moved.")


@post("/deals/stages/{stage_id:uuid}/delete")
async def stage_delete(request: Req, current: Current, stage_id: UUID) -> Response[str]:
    action = pipelines.delete_stage(current, stage_id)
    return await _admin_action(request, current, action, "Stage deleted.")


ROUTES = [
    routes_at(Level.MEMBER, [board_page, board_columns, deal_move]),
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
