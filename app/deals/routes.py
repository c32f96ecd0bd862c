"""Deal pages: list, create, edit, delete, detail (thin: parse, call a service, render)."""

from __future__ import annotations

from collections.abc import Container, Mapping
from functools import partial
from typing import Any
from uuid import UUID

from litestar import Response, get, post

from app.accounts.deps import routes_at
from app.accounts.form_routes import FormVisit, form_routes
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid
from app.core.folded import folds, take_folded
from app.core.forms import read_form, read_query
from app.core.http_types import Req
from app.core.kept import CSRF_MARK
from app.core.paging import Page
from app.core.templating import render_html
from app.core.web import get_session, is_htmx, redirect, render, render_with_parts
from app.crm.bulk_routes import bulk_action
from app.crm.custom_fields import FieldDef
from app.crm.custom_values import custom_field_list, custom_form, list_context, stored_record
from app.crm.filters import DealView, read_view
from app.crm.list_frame import list_frame
from app.crm.notes import subject_panel
from app.crm.web import view_context
from app.deals import pipelines, reading, services
from app.deals.edit_form import FORM_READ, edit_form
from app.deals.money import currencies
from app.deals.schemas import (
    DealDelete,
    DealDetail,
    DealEdit,
    DealForm,
    DealListQuery,
    PipelineQuery,
)

# the currency picker's choices: the same tuple every time, so its options' markup is kept
# (deals/form.html renders them through `fragment`)
CURRENCY_CHOICES = tuple((code, f"{code} · {name}") for code, name in currencies().items())
BLANK_FORM: dict[str, object] = {
    "title": "",
    "amount": "",
    "currency": "EUR",
    "stage_id": "",
    "expected_close_date": "",
    "owner_id": "",
    "company_id": "",
    "contact_ids": [],
    "lost_reason": "",
    "version": "",
}


async def _form_context(
    visit: FormVisit,
    deal_id: UUID | None,
    values: Mapping[str, object] | None = None,
    known: DealDetail | None = None,
    fields: list[FieldDef] | None = None,
) -> dict[str, object]:
    """The deal form's context: new, filled from the deal (`known` and its custom `fields`,
    read in the caller's transaction), or refused (messages + input kept). Its choices are
    read in one transaction (the caller's, when it has one)."""
    current, refused = visit.current, visit.refused
    shown = refused.shown() if refused else values or {}
    async with reading.one_transaction(current):
        if refused is not None and deal_id is not None:
            await reading.get_deal(current, deal_id)  # another workspace's (or a deleted): 404
        choices: dict[str, Any] = {
            "stage_groups": await reading.stage_groups(current),
            "options": await reading.form_options(current, shown, known),
            "custom_fields": (
                fields if fields is not None else await custom_field_list(current, "deal")
            ),
        }
    shown = {**BLANK_FORM, **shown}
    owners = (("", "Nobody"), *choices["options"].members)
    offered = {
        "stage_id": {str(s.id) for _, group in choices["stage_groups"] for s in group},
        "currency": currencies(),
        "owner_id": {value for value, _ in owners},
    }
    return {
        "values": shown,
        "errors": refused.errors if refused else {},
        "deal_id": deal_id,
        "currencies": CURRENCY_CHOICES,
        "currency_codes": list(currencies()),
        "owners": owners,
        # the pickers' chosen values among those offered ("" for anything else: no option is
        # selected either way), so that their kept markup is one per choice, never per input
        "picked": {name: _offered(shown.get(name), ids) for name, ids in offered.items()},
        **choices,
    }


def _offered(value: object, offered: Container[str]) -> str:
    return value if isinstance(value, str) and value in offered else ""


async def _form_page(
    visit: FormVisit, deal_id: UUID | None, *, values: Mapping[str, object] | None = None
) -> Response[str]:
    """The deal form (see `_form_context`)."""
    ctx = await _form_context(visit, deal_id, values)
    return render(visit.request, "deals/form.html", ctx, block="form")


@get("/deals")
async def deal_list(request: Req, current: Current) -> Response[str]:
    query = read_query(request, DealListQuery)
    page = await reading.list_deals(current, query.q, query.sort, query.cursor)
    ctx = {
        "page": page,
        "q": query.q,
        "sort": query.sort,
        "cursor": query.cursor,
        "sorts": reading.SORT_CHOICES,
    }
    return render(request, "deals/list.html", ctx, block="results")


@get("/deals/list")
async def deal_table(request: Req, current: Current) -> Response[str]:
    """The pipeline's deals as a table: filters, sortable columns, keyset pages, totals per
    currency of the whole view, the saved views (the URL holds the view)."""
    view = read_view(request, DealView)
    async with tenant_transaction(current.tenant_id, current.user_id):  # one read
        shown = await pipelines.deal_table(current, view)
        table = shown.table
        page = Page([], table.next_cursor, table.prev_cursor, {"count": table.count})
        columns = pipelines.DEAL_COLUMNS
        frame = await list_frame(current, "deals", "deal")
        ctx = view_context(frame, "/deals/list", page, view, columns)
        ids = [{"id": row.id} for row in table.rows]
        ctx |= await list_context(current.tenant_id, "deal", view.cf, view.cols, ids, frame.fields)
    ctx |= {"shown": shown, "kind": "deal", "plural": "deals"}
    return render(request, "deals/table.html", ctx, block="results")


async def _new_page(visit: FormVisit, _new: None) -> Response[str]:
    """A new deal's form: at the first stage of the pipeline asked for (?pipeline=), owned by
    whoever adds it; or the refused input with its messages."""
    if visit.refused is not None:
        return await _form_page(visit, None)
    pipeline = read_query(visit.request, PipelineQuery).pipeline
    stages = await pipelines.all_stages(visit.current)
    first = next((s for s in stages if s.pipeline_id == pipeline), stages[0])
    values = {"stage_id": str(first.id), "owner_id": str(visit.current.user_id)}
    return await _form_page(visit, None, values=values)


async def _create(request: Req, current: Current, _new: None, form: DealForm) -> Response[str]:
    deal_id = await services.create_deal(current, form)
    return redirect(request, f"/deals/{deal_id}", "Deal created.")


NEW_ROUTES = form_routes(
    "deal_create", "/deals/new", _new_page, DealForm, _create, posts_to="/deals"
)


async def render_deal(
    request: Req,
    current: Current,
    deal_id: UUID,
    extra: Mapping[str, object] | None = None,
) -> Response[str]:
    """The deal page with its notes, tasks and timeline; `extra` carries a form's errors."""
    deal = await reading.get_deal(current, deal_id)
    panel = await subject_panel(current, "deal", deal_id)
    panel.update(extra or {})
    custom = await stored_record(current, "deal", deal_id)
    ctx = {"deal": deal, "panel": panel, "custom_shown": custom["custom_shown"]}
    return render(request, "deals/detail.html", ctx)


@get("/deals/{deal_id:uuid}")
async def deal_detail(request: Req, current: Current, deal_id: UUID) -> Response[str]:
    return await render_deal(request, current, deal_id)


async def _edit_page(visit: FormVisit, deal_id: UUID) -> Response[Any]:
    """The deal's edit form: as stored (its custom fields too), kept rendered while nothing it
    shows changed (app/deals/edit_form.py), or the refused input. One transaction: the deal,
    its custom values and the form's choices are one read."""
    if visit.refused is not None:
        return await _form_page(visit, deal_id)
    request, current = visit.request, visit.current

    async def form_body() -> str:
        deal, stored = await reading.deal_for_form(current, deal_id)
        fields, custom = await custom_form(current, "deal", stored)
        values = reading.form_values(deal) | custom
        ctx = await _form_context(visit, deal_id, values, known=deal, fields=fields)
        return render_html("deals/form.html", {**ctx, "csrf_token": CSRF_MARK}, "form")

    folded = take_folded(request.scope, FORM_READ)  # the state, read with the signed-in check
    form = await edit_form(current, deal_id, get_session(request).csrf, form_body, folded)
    if is_htmx(request):
        return Response(form, media_type="text/html")
    return render_with_parts(request, "deals/edit.html", {}, {"deal_form": form}, kept_by=())


async def _update(request: Req, current: Current, deal_id: UUID, form: DealEdit) -> Response[str]:
    await services.update_deal(current, deal_id, form)
    return redirect(request, f"/deals/{deal_id}", "Deal saved.")


DEAL = "/deals/{deal_id:uuid}"
# the form page is a read: a kept form's state is read with the signed-in check, one
# statement (app/deals/edit_form.py, app/core/folded.py), no transaction; rendered, its reads
# are one transaction
EDIT_ROUTES = form_routes(
    "deal_update",
    DEAL + "/edit",
    _edit_page,
    DealEdit,
    _update,
    posts_to=DEAL,
    page_opt=folds(FORM_READ),
)


async def _refused_delete(
    request: Req, current: Current, deal_id: UUID, refused: FormInvalid
) -> Response[str]:
    """The deal page again, saying why the delete was not done (it changed meanwhile)."""
    return await render_deal(request, current, deal_id, {"delete_errors": refused.errors})


@post("/deals/{deal_id:uuid}/delete")
async def deal_delete(request: Req, current: Current, deal_id: UUID) -> Response[str]:
    page = partial(_refused_delete, request, current, deal_id)
    form = await read_form(request, DealDelete, page=page)
    title = await services.delete_deal(current, deal_id, form.version)
    return redirect(request, "/deals", f"Deleted the deal “{title}”.", level="info")


@post("/deals/bulk")
async def deals_bulk(request: Req, current: Current) -> Response[str]:
    """Bulk owner, stage or delete on the deals list (app/deals/bulk.py)."""
    return await bulk_action(request, current, "deals")


ROUTES = [
    routes_at(
        Level.MEMBER,
        [
            deals_bulk,
            deal_list,
            deal_table,
            *NEW_ROUTES,
            deal_detail,
            *EDIT_ROUTES,
            deal_delete,
        ],
    )
]
