"""Bulk actions on the contact, company and deal lists (thin: parse, confirm, call, go on),
and a bulk change's page: its progress while its job runs, cancel, undo."""

from __future__ import annotations

from functools import partial
from uuid import UUID

from litestar import Response, get, post

from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.forms import read_form
from app.core.http_types import Req
from app.core.web import redirect, render
from app.crm import bulk, bulk_jobs
from app.crm.bulk import BulkForm, Selection
from app.crm.bulk_kinds import steps_of

LOST_REASON = "Say why these deals were lost: the reason is kept on each of them."


async def _refused(request: Req, kind: str, refused: FormInvalid) -> Response[str]:
    """The bulk form refused: what is wrong, and the way back to the list (422)."""
    ctx = {"kind": kind, "list_url": steps_of(kind).list_url, "errors": refused.errors}
    return render(request, "crm/_bulk_confirm.html", ctx | {"selection": None}, status=422)


def _confirm(
    request: Req, selection: Selection, errors: dict[str, str], status: int = 200
) -> Response[str]:
    ctx = {
        "kind": selection.kind,
        "list_url": selection.list_url,
        "errors": errors,
        "selection": selection,
        "undo_minutes": bulk.UNDO_MINUTES,
    }
    return render(request, "crm/_bulk_confirm.html", ctx, status=status)


async def bulk_action(request: Req, current: Current, kind: str) -> Response[str]:
    """Ask (naming the count), then act: in the request up to bulk.MAX_IN_REQUEST records,
    as a job with a progress page above that."""
    form = await read_form(request, BulkForm, page=partial(_refused, request, kind))
    selection = await bulk.select(current, kind, form)
    if not form.confirmed:
        return _confirm(request, selection, {})
    if selection.lost and not selection.params.lost_reason:
        return _confirm(request, selection, {"lost_reason": LOST_REASON}, status=422)
    if selection.as_job:
        change_id = await bulk_jobs.start_job(current, selection)
    else:
        change_id, _changed, _kept = await bulk.apply(current, selection)
    return redirect(request, f"/bulk/{change_id}")


@post("/contacts/bulk")
async def contacts_bulk(request: Req, current: Current) -> Response[str]:
    return await bulk_action(request, current, "contacts")


@post("/companies/bulk")
async def companies_bulk(request: Req, current: Current) -> Response[str]:
    return await bulk_action(request, current, "companies")


@get("/bulk/{change_id:uuid}")
async def bulk_change(request: Req, current: Current, change_id: UUID) -> Response[str]:
    """The change's page; while its job runs, its `progress` block polls this page."""
    change = await bulk.get_change(current, change_id)
    ctx = {"change": change, "undo_minutes": bulk.UNDO_MINUTES}
    return render(request, "crm/_bulk_done.html", ctx, block="progress")


@post("/bulk/{change_id:uuid}/cancel")
async def bulk_cancel(request: Req, current: Current, change_id: UUID) -> Response[str]:
    stopped = await bulk_jobs.cancel(current, change_id)
    message = "Cancelled: what was done so far stays (you can undo it)." if stopped else None
    return redirect(request, f"/bulk/{change_id}", message or "It had already finished.")


@post("/bulk/{change_id:uuid}/undo")
async def bulk_undo(request: Req, current: Current, change_id: UUID) -> Response[str]:
    change = await bulk.get_change(current, change_id)
    if change.is_job:
        undo_id = await bulk_jobs.start_undo(current, change_id)
        return redirect(request, f"/bulk/{undo_id}", "Undoing the change…")
    restored, left = await bulk.undo(current, change_id)
    message = f"Undone on {restored:,} {change.kind}."
    if left:
        message += f" {left:,} edited since (or gone) were left as they are."
    return redirect(request, change.list_url, message)


ROUTES = [contacts_bulk, companies_bulk, bulk_change, bulk_cancel, bulk_undo]
