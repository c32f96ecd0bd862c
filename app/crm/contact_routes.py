"""Contact pages: list (search, sort, keyset pages), new, edit, delete with confirm, detail."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Response, get, post
from litestar.params import Parameter

from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.web import get_session, redirect, render
from app.crm import contacts
from app.crm.common import member_options
from app.crm.companies import company_choices
from app.crm.notes import subject_panel
from app.crm.related import contact_deals
from app.crm.web import Req, form_values, list_context


@get("/contacts")
async def contact_list(
    request: Req,
    current: Current,
    q: str = Parameter(query="q", default=""),
    sort: str = Parameter(query="sort", default="name"),
    after: str | None = Parameter(query="after", default=None),
    before: str | None = Parameter(query="before", default=None),
) -> Response[str]:
    page = await contacts.list_contacts(current, q, sort, after, before)
    ctx = list_context("/contacts", page, q, sort, contacts.SORTS)
    return render(request, "crm/contacts/list.html", ctx, block="results")


async def _form_page(
    request: Req,
    current: Current,
    values: dict[str, Any],
    errors: dict[str, str],
    contact_id: UUID | None = None,
    status: int = 200,
) -> Response[str]:
    ctx = {
        "values": values,
        "errors": errors,
        "contact_id": contact_id,
        "companies": await company_choices(current),
        "member_options": await member_options(current),
    }
    return render(request, "crm/contacts/form.html", ctx, block="form", status=status)


def _as_form(row: dict[str, Any]) -> dict[str, str]:
    return {
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "emails": ", ".join(row["emails"]),
        "phones": ", ".join(row["phones"]),
        "title": row["title"] or "",
        "company_id": str(row["company_id"] or ""),
        "owner_id": str(row["owner_id"] or ""),
        "tags": ", ".join(row["tags"]),
    }


@get("/contacts/new")
async def contact_new(
    request: Req, current: Current, company: str = Parameter(query="company", default="")
) -> Response[str]:
    return await _form_page(
        request, current, {"company_id": company, "owner_id": str(current.user_id)}, {}
    )


@post("/contacts/new")
async def contact_create(request: Req, current: Current) -> Response[str]:
    values = await form_values(request)
    try:
        contact_id = await contacts.create_contact(current, values)
    except FormInvalid as exc:
        return await _form_page(request, current, values, exc.errors, status=422)
    get_session(request).flash("success", "Contact created.")
    return redirect(request, f"/contacts/{contact_id}")


async def render_contact(
    request: Req,
    current: Current,
    contact_id: UUID,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response[str]:
    """The contact page; `extra` carries a notes/tasks form's errors and values."""
    contact = await contacts.get_contact(current, contact_id)
    panel = await subject_panel(current, "contact", contact_id)
    panel.update(extra or {})
    ctx = {"contact": contact, "panel": panel, "deals": await contact_deals(current, contact_id)}
    return render(request, "crm/contacts/detail.html", ctx, status=status)


@get("/contacts/{contact_id:uuid}")
async def contact_detail(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    return await render_contact(request, current, contact_id)


@get("/contacts/{contact_id:uuid}/edit")
async def contact_edit(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    contact = await contacts.get_contact(current, contact_id)
    return await _form_page(request, current, _as_form(contact), {}, contact_id)


@post("/contacts/{contact_id:uuid}/edit")
async def contact_update(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    values = await form_values(request)
    try:
        await contacts.update_contact(current, contact_id, values)
    except FormInvalid as exc:
        return await _form_page(request, current, values, exc.errors, contact_id, status=422)
    get_session(request).flash("success", "Contact saved.")
    return redirect(request, f"/contacts/{contact_id}")


@get("/contacts/{contact_id:uuid}/delete")
async def contact_delete_confirm(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    contact = await contacts.get_contact(current, contact_id)
    ctx = {
        "kind": "contact",
        "name": contacts.full_name(contact),
        "action": f"/contacts/{contact_id}/delete",
        "back": f"/contacts/{contact_id}",
        "consequence": "Its notes and tasks are deleted too. The timeline keeps a record.",
    }
    return render(request, "crm/confirm_delete.html", ctx)


@post("/contacts/{contact_id:uuid}/delete")
async def contact_delete(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    name = await contacts.delete_contact(current, contact_id)
    get_session(request).flash("success", f"Deleted {name}.")
    return redirect(request, "/contacts")


ROUTES = [
    contact_list,
    contact_new,
    contact_create,
    contact_detail,
    contact_edit,
    contact_update,
    contact_delete_confirm,
    contact_delete,
]
