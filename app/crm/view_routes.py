"""Saved views of the lists: save the view shown, rename, delete (thin: parse, call, go back)."""

from __future__ import annotations

from uuid import UUID

from litestar import Response, post

from app.accounts.schemas import Current
from app.core.forms import read_form
from app.core.http_types import Req
from app.core.web import redirect
from app.crm import saved_views
from app.crm.saved_views import LIST_PATHS, RenameView, SaveView


@post("/views")
async def view_save(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, SaveView)
    view_id = await saved_views.save_view(current, form)
    query = saved_views.clean_query(form.kind, form.query)
    url = f"{LIST_PATHS[form.kind]}?{query}{'&' if query else ''}view={view_id}"
    return redirect(request, url, f"Saved the view “{form.name}”.")


@post("/views/{view_id:uuid}/rename")
async def view_rename(request: Req, current: Current, view_id: UUID) -> Response[str]:
    form = await read_form(request, RenameView)
    kind = await saved_views.rename_view(current, view_id, form.name)
    return redirect(request, LIST_PATHS[kind], f"Renamed the view to “{form.name}”.")


@post("/views/{view_id:uuid}/delete")
async def view_delete(request: Req, current: Current, view_id: UUID) -> Response[str]:
    kind = await saved_views.delete_view(current, view_id)
    return redirect(request, LIST_PATHS[kind], "Deleted the view.", level="info")


ROUTES = [view_save, view_rename, view_delete]
