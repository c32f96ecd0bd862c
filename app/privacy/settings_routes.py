"""Privacy settings pages: my data, export & delete, the usage dashboard, contact erasure."""

from __future__ import annotations

import json
from uuid import UUID

from litestar import Response, get, post
from litestar.response import File

from app.accounts.deps import routes_at
from app.accounts.pages import FormsPage, said
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.forms import read_query
from app.core.http_types import Req
from app.core.web import content_disposition, get_session, is_htmx, redirect, render
from app.privacy import deletion, erasure, export, mydata, report, usage
from app.privacy.forms import CancelDeletion, DeletionForm, ExportForm, MoreQuery
from app.settings import get_settings


@get("/settings/my-data")
async def my_data_page(request: Req, current: Current) -> Response[str]:
    session = get_session(request)
    sections = await mydata.my_data(current, session.sid, session.visitor_id)
    ctx = {"sections": sections, "slug": mydata.slug, "page_size": mydata.PAGE, "after": None}
    return render(request, "privacy/my_data.html", ctx)


@get("/settings/my-data/more")
async def my_data_more(request: Req, current: Current) -> Response[str]:
    """The next page of one section of My data (the fragment for htmx, else a page)."""
    query = read_query(request, MoreQuery)
    place, after = query.place, query.after
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
    if is_htmx(request):  # a history restore (Back) gets the whole page
        return render(request, "privacy/_my_data_section.html", ctx, block="section")
    return render(request, "privacy/my_data_more.html", ctx)


def _deletion_errors(refused: FormInvalid) -> dict[str, str]:
    """A refused deletion's messages sit in its scope's card: the password, each workspace's
    choice, the rest at the top."""
    refused_scope = str(refused.shown().get("scope", ""))
    if refused_scope not in ("account", "workspace"):
        refused_scope = "account"
    errors: dict[str, str] = {}
    for field, message in refused.errors.items():
        where = field if field == "password" or field.startswith("workspace_") else "form"
        key = f"{refused_scope}_{where}"
        errors[key] = f"{errors[key]} {message}" if key in errors else message
    return errors


async def _export_context(current: Current) -> dict[str, object]:
    """Export and deletion."""
    scope = export.scope_of(current)  # what this person's export holds (workspace or own)
    return {
        "scope": scope,
        "files": export.files_for(scope),
        "sole_owned": await deletion.sole_owned(current.user_id),
        "exports": await export.latest_exports(current),
        "requests": await deletion.open_requests(current),
        "grace_days": get_settings().deletion_grace_days,
        "link_hours": get_settings().export_link_hours,
    }


EXPORT = FormsPage(
    "/settings/export", "privacy/export.html", _export_context, errors_of=_deletion_errors
)
export_page = EXPORT.page()


@post("/settings/export")
async def export_start(request: Req, current: Current) -> Response[str]:
    visitor_id = get_session(request).visitor_id

    async def start(current: Current, form: ExportForm) -> str:
        await export.request_export(current, form.bom, visitor_id)
        return "Your export has started. We'll tell you when it's ready."

    return await EXPORT.submit(request, current, ExportForm, start, "info")


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


async def _request_deletion(current: Current, form: DeletionForm) -> str:
    await deletion.request_deletion(current, form.scope, form.password, form.workspaces)
    days = get_settings().deletion_grace_days
    return f"Deletion scheduled in {days} days. You can cancel it until then."


delete_request = EXPORT.action("/settings/delete", DeletionForm, _request_deletion, "warning")
delete_cancel = EXPORT.action(
    "/settings/delete/cancel",
    CancelDeletion,
    lambda c, f: said(
        deletion.cancel_deletion(c, f.scope), "Deletion cancelled. Nothing was deleted."
    ),
)


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
    return redirect(request, "/contacts", "The contact's personal data was erased.")


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
