"""Privacy settings pages: my data, export & delete, the usage dashboard, contact erasure."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import Parameter
from litestar.response import File

from app.accounts.deps import routes_at
from app.accounts.routes import _form
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.web import content_disposition, get_session, is_htmx, redirect, render
from app.privacy import deletion, erasure, export, mydata, report, usage
from app.settings import get_settings

Req = Request[Any, Any, Any]


@get("/settings/my-data")
async def my_data_page(request: Req, current: Current) -> Response[str]:
    session = get_session(request)
    sections = await mydata.my_data(current, session.sid, session.visitor_id)
    ctx = {"sections": sections, "slug": mydata.slug, "page_size": mydata.PAGE, "after": None}
    return render(request, "privacy/my_data.html", ctx)


@get("/settings/my-data/more")
async def my_data_more(
    request: Req,
    current: Current,
    place: str = Parameter(query="place", default="", max_length=100),
    after: str | None = Parameter(query="after", default=None, max_length=200),
) -> Response[str]:
    """The next page of one section of My data (the fragment for htmx, else a page)."""
    session = get_session(request)
    found, section = await mydata.my_data_section(
        current, session.sid, session.visitor_id, place, after
    )
    ctx = {
        "place": found,
        "section": section,
        "slug": mydata.slug,
        "page_size": mydata.PAGE,
        "after": after,
    }
    restoring = request.headers.get("hx-history-restore-request") == "true"
    if is_htmx(request) and not restoring:  # a history restore needs the whole page
        return render(request, "privacy/_my_data_section.html", ctx, block="section")
    return render(request, "privacy/my_data_more.html", ctx)


async def _export_page(
    request: Req, current: Current, errors: dict[str, str] | None = None, status: int = 200
) -> Response[str]:
    scope = export.scope_of(current)
    ctx = {
        "scope": scope,
        "files": export.files_for(scope),
        "sole_owned": await deletion.sole_owned(current.user_id),
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
    session = get_session(request)
    await export.request_export(current, values.get("bom") == "on", session.visitor_id)
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
    choices = {k: v for k, v in values.items() if k.startswith("workspace_")}
    try:
        await deletion.request_deletion(current, scope, values.get("password", ""), choices)
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


@get("/staff/deletion-reports")
async def deletion_reports_page(request: Req, current: Current) -> Response[str]:
    reports = await report.latest_reports(current)
    return render(request, "privacy/deletion_reports.html", {"reports": reports})


ROUTES = [
    # members export their own data, admins and owners the workspace (the service decides);
    # deleting the workspace is for owners (checked by the deletion service)
    routes_at(
        Level.MEMBER,
        [
            my_data_page,
            my_data_more,
            export_page,
            export_start,
            export_progress,
            export_download,
            delete_request,
            delete_cancel,
        ],
    ),
    routes_at(Level.ADMIN, [usage_page, erase_page, erase_submit]),
    routes_at(Level.STAFF, [deletion_reports_page]),
]
