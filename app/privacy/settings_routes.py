"""Privacy settings pages: my data, export & delete, the usage dashboard, contact erasure."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.response import File

from app.accounts.deps import routes_at
from app.accounts.routes import _form
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.web import content_disposition, get_session, redirect, render
from app.privacy import deletion, erasure, export, mydata, usage
from app.settings import get_settings

Req = Request[Any, Any, Any]


@get("/settings/my-data")
async def my_data_page(request: Req, current: Current) -> Response[str]:
    session = get_session(request)
    data = await mydata.my_data(current, session.sid, session.visitor_id)
    return render(request, "privacy/my_data.html", {"data": data})


async def _export_page(
    request: Req, current: Current, errors: dict[str, str] | None = None, status: int = 200
) -> Response[str]:
    ctx = {
        "exports": await export.latest_exports(current),
        "requests": await deletion.open_requests(current),
        "grace_days": get_settings().deletion_grace_days,
        "link_hours": get_settings().export_link_hours,
        "errors": errors or {},
    }
    return render(request, "privacy/export.html", ctx, status=status)


@get("/settings/export")
async def export_page(request: Req, current: Current) -> Response[str]:
    return await _export_page(request, current)


@post("/settings/export")
async def export_start(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    await export.request_export(current, bom=values.get("bom") == "on")
    get_session(request).flash("info", "Your export has started. We'll tell you when it's ready.")
    return redirect(request, "/settings/export")


@get("/settings/export/{export_id:uuid}/progress")
async def export_progress(request: Req, current: Current, export_id: UUID) -> Response[str]:
    row = await export.export_status(current, export_id)
    return render(request, "privacy/_export_row.html", {"e": row}, block="row")


@get("/settings/export/{export_id:uuid}/download")
async def export_download(request: Req, current: Current, export_id: UUID) -> File:
    path, name = await export.export_file(current, export_id)
    return File(
        path=path,
        filename=name,
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(name)},
    )


@post("/settings/delete")
async def delete_request(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    scope = values.get("scope", "")
    try:
        await deletion.request_deletion(current, scope, values.get("password", ""))
    except FormInvalid as exc:
        return await _export_page(
            request, current, {f"{scope}_{k}": v for k, v in exc.errors.items()}, 422
        )
    days = get_settings().deletion_grace_days
    get_session(request).flash(
        "warning", f"Deletion scheduled in {days} days. You can cancel it until then."
    )
    return redirect(request, "/settings/export")


@post("/settings/delete/cancel")
async def delete_cancel(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    scope = values.get("scope", "")
    try:
        await deletion.cancel_deletion(current, scope)
    except FormInvalid as exc:
        return await _export_page(
            request, current, {f"{scope}_{k}": v for k, v in exc.errors.items()}, 422
        )
    get_session(request).flash("success", "Deletion cancelled. Nothing was deleted.")
    return redirect(request, "/settings/export")


@get("/settings/usage")
async def usage_page(request: Req, current: Current) -> Response[str]:
    figures = await usage.dashboard(current.tenant_id)
    return render(request, "privacy/usage.html", {"figures": figures, "json": json.dumps(figures)})


@get("/privacy/contacts/{contact_id:uuid}/erase")
async def erase_page(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    info = await erasure.contact_summary(current, contact_id)
    return render(request, "privacy/erase.html", info)


@post("/privacy/contacts/{contact_id:uuid}/erase")
async def erase_submit(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    await erasure.erase_contact(current, contact_id)
    get_session(request).flash("success", "The contact's personal data was erased.")
    return redirect(request, "/contacts")


ROUTES = [
    # members export their own data, admins and owners the workspace (the service decides);
    # deleting the workspace is for owners (checked by the deletion service)
    routes_at(
        Level.MEMBER,
        [
            my_data_page,
            export_page,
            export_start,
            export_progress,
            export_download,
            delete_request,
            delete_cancel,
        ],
    ),
    routes_at(Level.ADMIN, [usage_page, erase_page, erase_submit]),
]
