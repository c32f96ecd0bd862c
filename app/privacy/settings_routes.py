"""Privacy settings pages: my data, export & delete, the usage dashboard, contact erasure."""

from __future__ import annotations

import json
from functools import partial
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import File

from app.accounts.deps import provide_current
from app.accounts.schemas import Current
from app.core.errors import Forbidden, FormInvalid
from app.core.forms import read_form
from app.core.web import get_session, redirect, render
from app.privacy import deletion, erasure, export, mydata, usage
from app.privacy.forms import CancelDeletion, DeletionForm, ExportForm
from app.settings import get_settings

Req = Request[Any, Any, Any]
AUTH = {"current": Provide(provide_current)}


@get("/settings/my-data", dependencies=AUTH)
async def my_data_page(request: Req, current: Current) -> Response[str]:
    session = get_session(request)
    data = await mydata.my_data(current, session.sid, session.visitor_id)
    return render(request, "privacy/my_data.html", {"data": data})


async def _export_page(
    request: Req, current: Current, refused: FormInvalid | None = None
) -> Response[str]:
    """Export and deletion; a refused deletion's messages sit in its scope's card."""
    scope = str(refused.shown().get("scope", "")) if refused else ""
    if scope not in ("account", "workspace"):
        scope = "account"
    errors: dict[str, str] = {}
    for field, message in (refused.errors if refused else {}).items():
        key = f"{scope}_{'password' if field == 'password' else 'form'}"  # what the page shows
        errors[key] = f"{errors[key]} {message}" if key in errors else message
    ctx = {
        "exports": await export.latest_exports(current),
        "requests": await deletion.open_requests(current),
        "grace_days": get_settings().deletion_grace_days,
        "link_hours": get_settings().export_link_hours,
        "errors": errors,
    }
    return render(request, "privacy/export.html", ctx)


@get("/settings/export", dependencies=AUTH)
async def export_page(request: Req, current: Current) -> Response[str]:
    return await _export_page(request, current)


@post("/settings/export", dependencies=AUTH)
async def export_start(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, ExportForm, page=partial(_export_page, request, current))
    await export.request_export(current, bom=form.bom)
    get_session(request).flash("info", "Your export has started. We'll tell you when it's ready.")
    return redirect(request, "/settings/export")


@get("/settings/export/{export_id:uuid}/progress", dependencies=AUTH)
async def export_progress(request: Req, current: Current, export_id: UUID) -> Response[str]:
    row = await export.export_status(current, export_id)
    return render(request, "privacy/_export_row.html", {"e": row}, block="row")


@get("/settings/export/{export_id:uuid}/download", dependencies=AUTH)
async def export_download(request: Req, current: Current, export_id: UUID) -> File:
    path, name = await export.export_file(current, export_id)
    return File(path=path, filename=name, media_type="application/zip")


@post("/settings/delete", dependencies=AUTH)
async def delete_request(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, DeletionForm, page=partial(_export_page, request, current))
    await deletion.request_deletion(current, form.scope, form.password)
    days = get_settings().deletion_grace_days
    get_session(request).flash(
        "warning", f"Deletion scheduled in {days} days. You can cancel it until then."
    )
    return redirect(request, "/settings/export")


@post("/settings/delete/cancel", dependencies=AUTH)
async def delete_cancel(request: Req, current: Current) -> Response[str]:
    page = partial(_export_page, request, current)
    form = await read_form(request, CancelDeletion, page=page)
    await deletion.cancel_deletion(current, form.scope)
    get_session(request).flash("success", "Deletion cancelled. Nothing was deleted.")
    return redirect(request, "/settings/export")


@get("/settings/usage", dependencies=AUTH)
async def usage_page(request: Req, current: Current) -> Response[str]:
    if not current.is_admin:
        raise Forbidden("Only admins can see the workspace's usage.")
    figures = await usage.dashboard(current.tenant_id)
    return render(request, "privacy/usage.html", {"figures": figures, "json": json.dumps(figures)})


@get("/privacy/contacts/{contact_id:uuid}/erase", dependencies=AUTH)
async def erase_page(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    if not current.is_admin:
        raise Forbidden("Only admins can erase a contact's personal data.")
    info = await erasure.contact_summary(current, contact_id)
    return render(request, "privacy/erase.html", info)


@post("/privacy/contacts/{contact_id:uuid}/erase", dependencies=AUTH)
async def erase_submit(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    await erasure.erase_contact(current, contact_id)
    get_session(request).flash("success", "The contact's personal data was erased.")
    return redirect(request, "/contacts")


ROUTES = [
    my_data_page,
    export_page,
    export_start,
    export_progress,
    export_download,
    delete_request,
    delete_cancel,
    usage_page,
    erase_page,
    erase_submit,
]
