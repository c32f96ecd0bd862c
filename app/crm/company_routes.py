"""Company pages: list, new, edit, delete with confirm, detail with contacts, deals, invoices."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Response, get, post
from litestar.params import Parameter

from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.web import get_session, redirect, render
from app.crm import companies
from app.crm.common import member_options
from app.crm.contacts import list_contacts
from app.crm.notes import subject_panel
from app.crm.related import company_deals, company_invoices
from app.crm.web import Req, form_values, list_context


@get("/companies")
async def company_list(
    request: Req,
    current: Current,
    q: str = Parameter(query="q", default=""),
    sort: str = Parameter(query="sort", default="name"),
    after: str | None = Parameter(query="after", default=None),
    before: str | None = Parameter(query="before", default=None),
) -> Response[str]:
    page = await companies.list_companies(current, q, sort, after, before)
    ctx = list_context("/companies", page, q, sort, companies.SORTS)
    return render(request, "crm/companies/list.html", ctx, block="results")


async def _form_page(
    request: Req,
    current: Current,
    values: dict[str, Any],
    errors: dict[str, str],
    company_id: UUID | None = None,
    status: int = 200,
) -> Response[str]:
    ctx = {
        "values": values,
        "errors": errors,
        "company_id": company_id,
        "member_options": await member_options(current),
        "size_options": [("", "— unknown —")]
        + [(s, s) for s in companies.SIZES]
        + (
            [(values["size"], values["size"])]
            if values.get("size") not in (None, "", *companies.SIZES)
            else []
        ),
    }
    return render(request, "crm/companies/form.html", ctx, block="form", status=status)


@get("/companies/new")
async def company_new(request: Req, current: Current) -> Response[str]:
    return await _form_page(request, current, {"owner_id": str(current.user_id)}, {})


@post("/companies/new")
async def company_create(request: Req, current: Current) -> Response[str]:
    values = await form_values(request)
    try:
        company_id = await companies.create_company(current, values)
    except FormInvalid as exc:
        return await _form_page(request, current, values, exc.errors, status=422)
    get_session(request).flash("success", "Company created.")
    return redirect(request, f"/companies/{company_id}")


async def render_company(
    request: Req,
    current: Current,
    company_id: UUID,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response[str]:
    """The company page; `extra` carries a notes/tasks form's errors and values."""
    company = await companies.get_company(current, company_id)
    panel = await subject_panel(current, "company", company_id)
    panel.update(extra or {})
    ctx = {
        "company": company,
        "contacts": await list_contacts(current, company_id=company_id, limit=100),
        "deals": await company_deals(current, company_id),
        "invoices": await company_invoices(current, company_id),
        "panel": panel,
    }
    return render(request, "crm/companies/detail.html", ctx, status=status)


@get("/companies/{company_id:uuid}")
async def company_detail(request: Req, current: Current, company_id: UUID) -> Response[str]:
    return await render_company(request, current, company_id)


@get("/companies/{company_id:uuid}/edit")
async def company_edit(request: Req, current: Current, company_id: UUID) -> Response[str]:
    row = await companies.get_company(current, company_id)
    values = {k: str(row[k] or "") for k in companies.FIELDS}
    return await _form_page(request, current, values, {}, company_id)


@post("/companies/{company_id:uuid}/edit")
async def company_update(request: Req, current: Current, company_id: UUID) -> Response[str]:
    values = await form_values(request)
    try:
        await companies.update_company(current, company_id, values)
    except FormInvalid as exc:
        return await _form_page(request, current, values, exc.errors, company_id, status=422)
    get_session(request).flash("success", "Company saved.")
    return redirect(request, f"/companies/{company_id}")


@get("/companies/{company_id:uuid}/delete")
async def company_delete_confirm(request: Req, current: Current, company_id: UUID) -> Response[str]:
    company = await companies.get_company(current, company_id)
    ctx = {
        "kind": "company",
        "name": company["name"],
        "action": f"/companies/{company_id}/delete",
        "back": f"/companies/{company_id}",
        "consequence": "Its contacts stay, without a company. Its notes and tasks are deleted.",
    }
    return render(request, "crm/confirm_delete.html", ctx)


@post("/companies/{company_id:uuid}/delete")
async def company_delete(request: Req, current: Current, company_id: UUID) -> Response[str]:
    try:
        name = await companies.delete_company(current, company_id)
    except FormInvalid as exc:
        get_session(request).flash("error", exc.errors["form"])
        return redirect(request, f"/companies/{company_id}")
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
