"""Settings → Custom fields (admins and owners): the workspace's own fields on contacts,
companies and deals: add, edit, reorder, archive, restore, delete an archived one. A refused
form comes back in place with its messages (422; a stale edit 409)."""

from __future__ import annotations

from uuid import UUID

from litestar import Response, get, post

from app.accounts.deps import routes_at
from app.accounts.form_routes import FormVisit, form_routes, shown_again
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.forms import read_form
from app.core.http_types import Req
from app.core.web import get_session, redirect, render
from app.crm import custom_admin
from app.crm.custom_fields import FIELD_TYPES, OBJECT_KINDS
from app.crm.schemas import CustomFieldEdit, CustomFieldForm, CustomFieldMove

BASE = "/settings/custom-fields"


async def _list_page(visit: FormVisit) -> Response[str]:
    """The workspace's custom fields and the form adding one (refused: its input again)."""
    refused = visit.refused
    ctx = {
        "fields": await custom_admin.list_fields(visit.current),
        "kinds": OBJECT_KINDS,
        "types": FIELD_TYPES,
        "values": refused.shown() if refused else {"object_kind": "contact", "field_type": "text"},
        "errors": refused.errors if refused else {},
    }
    return render(visit.request, "crm/custom_fields.html", ctx, block="custom_fields")


@get(BASE)
async def custom_fields_page(request: Req, current: Current) -> Response[str]:
    return await _list_page(FormVisit(request, current))


@post(BASE)
async def custom_field_add(request: Req, current: Current) -> Response[str]:
    page = shown_again(_list_page, request, current)
    field = await custom_admin.add_field(
        current, await read_form(request, CustomFieldForm, page=page)
    )
    get_session(request).flash("success", f"Added the field {field.label} (key {field.key}).")
    return redirect(request, BASE)


async def _edit_page(visit: FormVisit, field_id: UUID) -> Response[str]:
    """The field's edit form: as stored, or the refused input with its messages."""
    refused = visit.refused
    field = await custom_admin.get_field(visit.current, field_id)
    values: dict[str, object] = {
        "label": field.label,
        "options": "\n".join(field.options),
        "required": field.required,
        "personal": field.personal,
        "version": str(field.version),
    }
    if refused is not None:
        values = {**values, **refused.shown()}
    ctx = {
        "field": field,
        "kinds": OBJECT_KINDS,
        "values": values,
        "errors": refused.errors if refused else {},
    }
    return render(visit.request, "crm/custom_field_edit.html", ctx, block="edit_form")


async def _save_edit(
    request: Req, current: Current, field_id: UUID, form: CustomFieldEdit
) -> Response[str]:
    await custom_admin.edit_field(current, field_id, form)
    get_session(request).flash("success", "The field is saved.")
    return redirect(request, BASE)


EDIT_ROUTES = form_routes(
    "custom_field_update", BASE + "/{field_id:uuid}/edit", _edit_page, CustomFieldEdit, _save_edit
)


async def _as_shown(request: Req, current: Current) -> CustomFieldMove:
    """The version of the field the page showed (a stale or broken one: the page again)."""
    return await read_form(request, CustomFieldMove, page=shown_again(_list_page, request, current))


@post(BASE + "/{field_id:uuid}/archive")
async def custom_field_archive(request: Req, current: Current, field_id: UUID) -> Response[str]:
    form = await _as_shown(request, current)
    label = await custom_admin.set_archived(current, field_id, form.version, True)
    get_session(request).flash(
        "success", f"Archived {label}: hidden everywhere, its values kept. Restore brings it back."
    )
    return redirect(request, BASE)


@post(BASE + "/{field_id:uuid}/restore")
async def custom_field_restore(request: Req, current: Current, field_id: UUID) -> Response[str]:
    form = await _as_shown(request, current)
    label = await custom_admin.set_archived(current, field_id, form.version, False)
    get_session(request).flash("success", f"Restored {label} with its values.")
    return redirect(request, BASE)


@post(BASE + "/{field_id:uuid}/move")
async def custom_field_move(request: Req, current: Current, field_id: UUID) -> Response[str]:
    form = await _as_shown(request, current)
    await custom_admin.move_field(current, field_id, form.version, form.direction or "up")
    return redirect(request, BASE)


@post(BASE + "/{field_id:uuid}/purge")
async def custom_field_purge(request: Req, current: Current, field_id: UUID) -> Response[str]:
    form = await _as_shown(request, current)
    label = await custom_admin.purge_field(current, field_id, form.version)
    get_session(request).flash("success", f"Deleted {label} and its values.")
    return redirect(request, BASE)


ROUTES = routes_at(
    Level.ADMIN,
    [
        custom_fields_page,
        custom_field_add,
        *EDIT_ROUTES,
        custom_field_archive,
        custom_field_restore,
        custom_field_move,
        custom_field_purge,
    ],
)
