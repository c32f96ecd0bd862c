"""Invoice pages: list, new, edit draft, detail with status actions, printable page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Response, get, post
from litestar.params import Parameter

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.web import get_session, redirect, render
from app.crm.web import Req, form_values
from app.invoices import services
from app.invoices.schemas import ACTION_LABELS, MAX_LINES, STATUSES

BLANK_LINES = 3


async def _form_page(
    request: Req,
    current: Current,
    values: dict[str, str],
    errors: dict[str, str],
    invoice: dict[str, Any] | None = None,
    status: int = 200,
) -> Response[str]:
    filled = [
        i
        for i in range(MAX_LINES)
        if any(values.get(f"line-{i}-{k}") for k in ("description", "quantity", "unit_price"))
    ]
    line_count = min((max(filled) + 1 if filled else 0) + BLANK_LINES, MAX_LINES)
    ctx = {
        "values": values,
        "errors": errors,
        "invoice": invoice,
        "line_count": line_count,
        **await services.form_choices(current),
    }
    return render(request, "invoices/form.html", ctx, block="form", status=status)


@get("/invoices")
async def invoice_list(
    request: Req,
    current: Current,
    status: str = Parameter(query="status", default=""),
    before: int | None = Parameter(query="before", default=None),
) -> Response[str]:
    status = status if status in STATUSES else ""
    items, next_key = await services.list_invoices(current, status, before)
    ctx = {"invoices": items, "status": status, "statuses": STATUSES, "next_key": next_key}
    return render(request, "invoices/list.html", ctx)


@get("/invoices/new")
async def invoice_new(
    request: Req, current: Current, company: str = Parameter(query="company", default="")
) -> Response[str]:
    choices = await services.form_choices(current)
    values = {"company_id": company, "currency": "EUR", "due_date": choices["default_due"]}
    return await _form_page(request, current, values, {})


@post("/invoices/new")
async def invoice_create(request: Req, current: Current) -> Response[str]:
    values = await form_values(request)
    try:
        invoice_id = await services.create_invoice(current, values)
    except FormInvalid as exc:
        return await _form_page(request, current, values, exc.errors, status=422)
    get_session(request).flash("success", "Invoice created as a draft.")
    return redirect(request, f"/invoices/{invoice_id}")


async def _detail(
    request: Req, current: Current, invoice_id: UUID, errors: dict[str, str], status: int = 200
) -> Response[str]:
    invoice = await services.get_invoice(current, invoice_id)
    ctx = {"invoice": invoice, "errors": errors, "action_labels": ACTION_LABELS}
    return render(request, "invoices/detail.html", ctx, status=status)


@get("/invoices/{invoice_id:uuid}")
async def invoice_detail(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    return await _detail(request, current, invoice_id, {})


@get("/invoices/{invoice_id:uuid}/print")
async def invoice_print(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    invoice = await services.get_invoice(current, invoice_id)
    return render(request, "invoices/print.html", {"invoice": invoice})


@get("/invoices/{invoice_id:uuid}/edit")
async def invoice_edit(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    invoice = await services.get_invoice(current, invoice_id)
    if invoice["status"] != "draft":
        get_session(request).flash("error", "Only drafts can be edited.")
        return redirect(request, f"/invoices/{invoice_id}")
    return await _form_page(request, current, services.as_form(invoice), {}, invoice)


@post("/invoices/{invoice_id:uuid}/edit")
async def invoice_update(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    values = await form_values(request)
    try:
        await services.update_invoice(current, invoice_id, values)
    except FormInvalid as exc:
        invoice = await services.get_invoice(current, invoice_id)
        return await _form_page(request, current, values, exc.errors, invoice, status=422)
    get_session(request).flash("success", "Invoice saved.")
    return redirect(request, f"/invoices/{invoice_id}")


@post("/invoices/{invoice_id:uuid}/status")
async def invoice_status(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    values = await form_values(request)
    try:
        number = await services.change_status(current, invoice_id, values.get("status", ""))
    except FormInvalid as exc:
        return await _detail(request, current, invoice_id, exc.errors, status=422)
    get_session(request).flash("success", f"{number} is now {values.get('status')}.")
    return redirect(request, f"/invoices/{invoice_id}")


ROUTES = [
    routes_at(
        Level.MEMBER,
        [
            invoice_list,
            invoice_new,
            invoice_create,
            invoice_detail,
            invoice_print,
            invoice_edit,
            invoice_update,
            invoice_status,
        ],
    )
]
