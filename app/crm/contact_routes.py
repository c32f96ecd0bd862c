"""Contact pages: list (search, sort, keyset pages), new, edit, delete with confirm, detail."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from litestar import Response, get, post

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid
from app.core.forms import read_form, read_query
from app.core.web import get_session, redirect, render
from app.crm import contacts
from app.crm.common import member_options
from app.crm.companies import company_choices
from app.crm.notes import subject_panel
from app.crm.related import contact_deals
from app.crm.schemas import ConfirmDelete, ContactEdit, ContactForm, ListQuery, NewContactQuery
from app.crm.web import Req, confirm_delete_page, list_context


@get("/contacts")
async def contact_list(request: Req, current: Current) -> Response[str]:
    query = read_query(request, ListQuery)
    page = await contacts.list_contacts(current, query.q, query.sort, query.after, query.before)
    ctx = list_context("/contacts", page, query.q, query.sort, contacts.SORTS)
    return render(request, "crm/contacts/list.html", ctx, block="results")


async def _form_page(
    request: Req,
    current: Current,
    contact_id: UUID | None,
    refused: FormInvalid | None = None,
    *,
    values: dict[str, Any] | None = None,
) -> Response[str]:
    """The contact form: empty, filled from the record, or refused (messages + input kept)."""
    if refused is not None and contact_id is not None:
        await contacts.get_contact(
            current, contact_id
        )  # another workspace's (or a deleted) record: 404
    ctx = {
        "values": refused.shown() if refused else values or {},
        "errors": refused.errors if refused else {},
        "contact_id": contact_id,
        "companies": await company_choices(current),
        "member_options": await member_options(current),
    }
    return render(request, "crm/contacts/form.html", ctx, block="form")


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
        "version": str(row["version"]),
    }


@get("/contacts/new")
async def contact_new(request: Req, current: Current) -> Response[str]:
    company = read_query(request, NewContactQuery).company
    values = {"company_id": str(company or ""), "owner_id": str(current.user_id)}
    return await _form_page(request, current, None, values=values)


@post("/contacts/new")
async def contact_create(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, ContactForm, page=partial(_form_page, request, current, None))
    contact_id = await contacts.create_contact(current, form)
    get_session(request).flash("success", "Contact created.")
    return redirect(request, f"/contacts/{contact_id}")


async def render_contact(
    request: Req,
    current: Current,
    contact_id: UUID,
    extra: dict[str, Any] | None = None,
) -> Response[str]:
    """The contact page; `extra` carries a notes/tasks form's errors and values. One
    transaction: the services below join it."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        contact = await contacts.get_contact(current, contact_id)
        panel = await subject_panel(current, "contact", contact_id)
        deals = await contact_deals(current, contact_id)
    panel.update(extra or {})
    ctx = {"contact": contact, "panel": panel, "deals": deals}
    return render(request, "crm/contacts/detail.html", ctx)


@get("/contacts/{contact_id:uuid}")
async def contact_detail(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    return await render_contact(request, current, contact_id)


@get("/contacts/{contact_id:uuid}/edit")
async def contact_edit(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    contact = await contacts.get_contact(current, contact_id)
    return await _form_page(request, current, contact_id, values=_as_form(contact))


@post("/contacts/{contact_id:uuid}/edit")
async def contact_update(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    page = partial(_form_page, request, current, contact_id)
    await contacts.update_contact(
        current, contact_id, await read_form(request, ContactEdit, page=page)
    )
    get_session(request).flash("success", "Contact saved.")
    return redirect(request, f"/contacts/{contact_id}")


async def _confirm_page(
    request: Req, current: Current, contact_id: UUID, refused: FormInvalid | None = None
) -> Response[str]:
    contact = await contacts.get_contact(current, contact_id)
    return confirm_delete_page(
        request,
        "contact",
        contacts.full_name(contact),
        f"/contacts/{contact_id}",
        contact["version"],
        "Its notes and tasks are deleted too. The timeline keeps a record.",
        refused,
    )


@get("/contacts/{contact_id:uuid}/delete")
async def contact_delete_confirm(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    return await _confirm_page(request, current, contact_id)


@post("/contacts/{contact_id:uuid}/delete")
async def contact_delete(request: Req, current: Current, contact_id: UUID) -> Response[str]:
    page = partial(_confirm_page, request, current, contact_id)
    form = await read_form(request, ConfirmDelete, page=page)
    name = await contacts.delete_contact(current, contact_id, form.version)
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
