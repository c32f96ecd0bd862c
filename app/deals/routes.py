"""Deal pages: list, create, edit, delete, detail (thin: parse, call a service, render)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import Parameter

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.web import get_session, redirect, render
from app.crm.notes import subject_panel
from app.deals import pipelines, reading, services
from app.deals.money import currencies
from app.deals.services import DealInput

Req = Request[Any, Any, Any]


async def deal_input(request: Req) -> DealInput:
    """The deal form as submitted (every field as text, contacts as a list)."""
    form = await request.form()
    fields = {
        name: str(form.get(name, ""))
        for name in DealInput.__struct_fields__
        if name != "contact_ids" and isinstance(form.get(name, ""), str)
    }
    contacts = [str(v) for v in form.getall("contact_ids", []) if isinstance(v, str)]
    return DealInput(**fields, contact_ids=contacts)


async def _form_page(
    request: Req,
    current: Current,
    values: DealInput,
    errors: dict[str, str],
    deal_id: UUID | None = None,
    status: int = 200,
) -> Response[str]:
    ctx = {
        "values": values,
        "values_map": {
            "title": values.title,
            "amount": values.amount,
            "expected_close_date": values.expected_close_date,
        },
        "errors": errors,
        "deal_id": deal_id,
        "currencies": [(code, f"{code} · {name}") for code, name in currencies().items()],
        "pipelines": await pipelines.list_pipelines(current),
        "stages": await pipelines.all_stages(current),
        "options": await reading.form_options(current),
    }
    return render(request, "deals/form.html", ctx, block="form", status=status)


@get("/deals")
async def deal_list(
    request: Req,
    current: Current,
    q: str = Parameter(query="q", default="", max_length=500),
    sort: str = Parameter(query="sort", default="newest", max_length=20),
    cursor: str = Parameter(query="cursor", default="", max_length=500),
) -> Response[str]:
    page = await reading.list_deals(current, q, sort, cursor)
    ctx = {
        "page": page,
        "q": q,
        "sort": sort if sort in reading.SORTS else "newest",
        "cursor": cursor,
        "sorts": [(key, spec[0]) for key, spec in reading.SORTS.items()],
    }
    return render(request, "deals/list.html", ctx, block="results")


@get("/deals/new")
async def deal_new(
    request: Req,
    current: Current,
    pipeline: str = Parameter(query="pipeline", default="", max_length=64),
) -> Response[str]:
    stages = await pipelines.all_stages(current)
    first = next((s for s in stages if str(s.pipeline_id) == pipeline), stages[0])
    values = DealInput(stage_id=str(first.id), owner_id=str(current.user_id))
    return await _form_page(request, current, values, {})


@post("/deals")
async def deal_create(request: Req, current: Current) -> Response[str]:
    values = await deal_input(request)
    try:
        deal_id = await services.create_deal(current, values)
    except FormInvalid as exc:
        return await _form_page(request, current, values, exc.errors, status=422)
    get_session(request).flash("success", "Deal created.")
    return redirect(request, f"/deals/{deal_id}")


async def render_deal(
    request: Req,
    current: Current,
    deal_id: UUID,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response[str]:
    """The deal page with its notes, tasks and timeline; `extra` carries a form's errors."""
    deal = await reading.get_deal(current, deal_id)
    panel = await subject_panel(current, "deal", deal_id)
    panel.update(extra or {})
    return render(request, "deals/detail.html", {"deal": deal, "panel": panel}, status=status)


@get("/deals/{deal_id:uuid}")
async def deal_detail(request: Req, current: Current, deal_id: UUID) -> Response[str]:
    return await render_deal(request, current, deal_id)


@get("/deals/{deal_id:uuid}/edit")
async def deal_edit(request: Req, current: Current, deal_id: UUID) -> Response[str]:
    deal = await reading.get_deal(current, deal_id)
    return await _form_page(request, current, reading.input_from_card(deal), {}, deal_id)


@post("/deals/{deal_id:uuid}")
async def deal_update(request: Req, current: Current, deal_id: UUID) -> Response[str]:
    values = await deal_input(request)
    try:
        await services.update_deal(current, deal_id, values)
    except FormInvalid as exc:
        return await _form_page(request, current, values, exc.errors, deal_id, status=422)
    get_session(request).flash("success", "Deal saved.")
    return redirect(request, f"/deals/{deal_id}")


@post("/deals/{deal_id:uuid}/delete")
async def deal_delete(request: Req, current: Current, deal_id: UUID) -> Response[str]:
    title = await services.delete_deal(current, deal_id)
    get_session(request).flash("info", f"Deleted the deal “{title}”.")
    return redirect(request, "/deals")


ROUTES = [
    routes_at(
        Level.MEMBER,
        [deal_list, deal_new, deal_create, deal_detail, deal_edit, deal_update, deal_delete],
    )
]
