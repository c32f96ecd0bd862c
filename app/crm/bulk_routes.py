"""Bulk actions on the contact and company lists (thin: parse, confirm, call, go on)."""

from __future__ import annotations

from functools import partial
from uuid import UUID

from litestar import Response, get, post

from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.forms import read_form
from app.core.http_types import Req
from app.core.web import redirect, render
from app.crm import bulk
from app.crm.bulk import BulkForm


async def _refused(request: Req, kind: str, refused: FormInvalid) -> Response[str]:
    """The bulk form refused: what is wrong, and the way back to the list (422)."""
    ctx = {"kind": kind, "errors": refused.errors, "selection": None}
    return render(request, "crm/_bulk_confirm.html", ctx, status=422)


async def _bulk(request: Req, current: Current, kind: str) -> Response[str]:
    form = await read_form(request, BulkForm, page=partial(_refused, request, kind))
    selection = await bulk.select(current, kind, form)
    if not form.confirmed:
        ctx = {
            "kind": kind,
            "errors": {},
            "selection": selection,
            "undo_minutes": bulk.UNDO_MINUTES,
        }
        return render(request, "crm/_bulk_confirm.html", ctx)
    change_id, _changed, _skipped = await bulk.apply(current, selection)
    return redirect(request, f"/bulk/{change_id}")


@post("/contacts/bulk")
async def contacts_bulk(request: Req, current: Current) -> Response[str]:
    return await _bulk(request, current, "contacts")


@post("/companies/bulk")
async def companies_bulk(request: Req, current: Current) -> Response[str]:
    return await _bulk(request, current, "companies")


@get("/bulk/{change_id:uuid}")
async def bulk_change(request: Req, current: Current, change_id: UUID) -> Response[str]:
    change = await bulk.get_change(current, change_id)
    ctx = {"change": change, "undo_minutes": bulk.UNDO_MINUTES}
    return render(request, "crm/_bulk_done.html", ctx)


@post("/bulk/{change_id:uuid}/undo")
async def bulk_undo(request: Req, current: Current, change_id: UUID) -> Response[str]:
    change = await bulk.get_change(current, change_id)
    restored, left = await bulk.undo(current, change_id)
    message = f"Undone on {restored:,} {change.kind}."
    if left:
        message += f" {left:,} edited since (or gone) were left as they are."
    return redirect(request, f"/{change.kind}", message)


ROUTES = [contacts_bulk, companies_bulk, bulk_change, bulk_undo]
