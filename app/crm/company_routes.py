"""Company pages: list, new, edit, delete with confirm, detail with contacts, deals, invoices."""

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
from app.crm import companies
from app.crm.common import member_options
from app.crm.contacts import list_contacts
from app.crm.notes import subject_panel
from app.crm.related import company_deals, company_invoices
from app.crm.schemas import CompanyEdit, CompanyForm, ConfirmDelete, ListQuery
from app.crm.web import Req, confirm_delete_page, list_context


@get("/companies")
async def company_list(request: Req, current: Current) -> Response[str]:
    query = read_query(request, ListQuery)
    page = await companies.list_companies(current, query.q, query.sort, query.after, query.before)
    ctx = list_context("/companies", page, query.q, query.sort, companies.SORTS)
    return render(request, "crm/companies/list.html", ctx, block="results")


async def _form_page(
    request: Req,
    current: Current,
    company_id: UUID | None,
    refused: FormInvalid | None = None,
    *,
    values: dict[str, Any] | None = None,
) -> Response[str]:
    """The company form: empty, filled from the record, or refused (messages + input kept)."""
    if refused is not None and company_id is not None:
        await companies.get_company(
            current, company_id
        )  # another workspace's (or a deleted) record: 404
    shown = refused.shown() if refused else values or {}
    size = shown.get("size")
    ctx = {
        "values": shown,
        "errors": refused.errors if refused else {},
        "company_id": company_id,
        "member_options": await member_options(current),
        "size_options": [("", "— unknown —")]
        + [(s, s) for s in companies.SIZES]
        + ([(size, size)] if size not in (None, "", *companies.SIZES) else []),
    }
    return render(request, "crm/companies/form.html", ctx, block="form")


@get("/companies/new")
async def company_new(request: Req, current: Current) -> Response[str]:
    return await _form_page(request, current, None, values={"owner_id": str(current.user_id)})


@post("/companies/new")
async def company_create(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, CompanyForm, page=partial(_form_page, request, current, None))
    company_id = await companies.create_company(current, form)
    get_session(request).flash("success", "Company created.")
    return redirect(request, f"/companies/{company_id}")


async def render_company(
    request: Req,
    current: Current,
    company_id: UUID,
    extra: dict[str, Any] | None = None,
) -> Response[str]:
    """The company page; `extra` carries a notes/tasks form's errors and values. One
    transaction: the services below join it, so the page is one consistent read."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        company = await companies.get_company(current, company_id)
        panel = await subject_panel(current, "company", company_id)
        ctx = {
            "company": company,
            "contacts": await list_contacts(current, company_id=company_id, limit=100),
            "deals": await company_deals(current, company_id),
            "invoices": await company_invoices(current, company_id),
            "panel": panel,
        }
    panel.update(extra or {})
    return render(request, "crm/companies/detail.html", ctx)


@get("/companies/{company_id:uuid}")
async def company_detail(request: Req, current: Current, company_id: UUID) -> Response[str]:
    return await render_company(request, current, company_id)


@get("/companies/{company_id:uuid}/edit")
async def company_edit(request: Req, current: Current, company_id: UUID) -> Response[str]:
    row = await companies.get_company(current, company_id)
    values = {k: str(row[k] or "") for k in (*companies.FIELDS, "version")}
    return await _form_page(request, current, company_id, values=values)


@post("/companies/{company_id:uuid}/edit")
async def company_update(request: Req, current: Current, company_id: UUID) -> Response[str]:
    page = partial(_form_page, request, current, company_id)
    await companies.update_company(
        current, company_id, await read_form(request, CompanyEdit, page=page)
    )
    get_session(request).flash("success", "Company saved.")
    return redirect(request, f"/companies/{company_id}")


async def _confirm_page(
    request: Req, current: Current, company_id: UUID, refused: FormInvalid | None = None
) -> Response[str]:
    company = await companies.get_company(current, company_id)
    return confirm_delete_page(
        request,
        "company",
        company["name"],
        f"/companies/{company_id}",
        company["version"],
        "Its contacts stay, without a company. Its notes and tasks are deleted.",
        refused,
    )


@get("/companies/{company_id:uuid}/delete")
async def company_delete_confirm(request: Req, current: Current, company_id: UUID) -> Response[str]:
    return await _confirm_page(request, current, company_id)


@post("/companies/{company_id:uuid}/delete")
async def company_delete(request: Req, current: Current, company_id: UUID) -> Response[str]:
    page = partial(_confirm_page, request, current, company_id)
    form = await read_form(request, ConfirmDelete, page=page)
    name = await companies.delete_company(current, company_id, form.version)
    get_session(request).flash("success", f"Deleted {name}.")
    return redirect(request, "/companies")


ROUTES = [
    company_list,
    company_new,
    company_create,
    company_detail,
    company_edit,
    company_update,
    company_delete_confirm,
    company_delete,
]
