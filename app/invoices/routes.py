"""Invoice pages: list, new, edit draft, detail with status actions, printable page."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from litestar import Response, get, post

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.forms import read_form, read_query
from app.core.web import get_session, redirect, render
from app.crm.web import Req
from app.invoices import services
from app.invoices.schemas import (
    ACTION_LABELS,
    MAX_LINES,
    STATUSES,
    InvoiceEdit,
    InvoiceForm,
    InvoiceListQuery,
    NewInvoiceQuery,
    StatusChange,
)

BLANK_LINES = 3


async def _form_page(
    request: Req,
    current: Current,
    invoice_id: UUID | None,
    refused: FormInvalid | None = None,
    *,
    values: dict[str, Any] | None = None,
) -> Response[str]:
    """The invoice form: new, a draft to edit, or refused (messages + input kept)."""
    invoice = await services.get_invoice(current, invoice_id) if invoice_id else None
    shown = refused.shown() if refused else values or {}
    filled = [
        i
        for i in range(MAX_LINES)
        if any(shown.get(f"line-{i}-{k}") for k in ("description", "quantity", "unit_price"))
    ]
    line_count = min((max(filled) + 1 if filled else 0) + BLANK_LINES, MAX_LINES)
    ctx = {
        "values": shown,
        "errors": refused.errors if refused else {},
        "invoice": invoice,
        "line_count": line_count,
        **await services.form_choices(current),
    }
    return render(request, "invoices/form.html", ctx, block="form")


@get("/invoices")
async def invoice_list(request: Req, current: Current) -> Response[str]:
    query = read_query(request, InvoiceListQuery)
    items, next_key = await services.list_invoices(current, query.status, query.before)
    ctx = {"invoices": items, "status": query.status, "statuses": STATUSES, "next_key": next_key}
    return render(request, "invoices/list.html", ctx)


@get("/invoices/new")
async def invoice_new(request: Req, current: Current) -> Response[str]:
    company = read_query(request, NewInvoiceQuery).company
    choices = await services.form_choices(current)
    values = {
        "company_id": str(company or ""),
        "currency": "EUR",
        "due_date": choices["default_due"],
    }
    return await _form_page(request, current, None, values=values)


@post("/invoices/new")
async def invoice_create(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, InvoiceForm, page=partial(_form_page, request, current, None))
    invoice_id = await services.create_invoice(current, form)
    get_session(request).flash("success", "Invoice created as a draft.")
    return redirect(request, f"/invoices/{invoice_id}")


async def _detail(
    request: Req, current: Current, invoice_id: UUID, refused: FormInvalid | None = None
) -> Response[str]:
    invoice = await services.get_invoice(current, invoice_id)
    errors = refused.errors if refused else {}
    ctx = {"invoice": invoice, "errors": errors, "action_labels": ACTION_LABELS}
    return render(request, "invoices/detail.html", ctx)


@get("/invoices/{invoice_id:uuid}")
async def invoice_detail(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    return await _detail(request, current, invoice_id)


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
    return await _form_page(request, current, invoice_id, values=services.as_form(invoice))


@post("/invoices/{invoice_id:uuid}/edit")
async def invoice_update(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    page = partial(_form_page, request, current, invoice_id)
    await services.update_invoice(
        current, invoice_id, await read_form(request, InvoiceEdit, page=page)
    )
    get_session(request).flash("success", "Invoice saved.")
    return redirect(request, f"/invoices/{invoice_id}")


@post("/invoices/{invoice_id:uuid}/status")
async def invoice_status(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    page = partial(_detail, request, current, invoice_id)
    form = await read_form(request, StatusChange, page=page)
    number = await services.change_status(current, invoice_id, form.status, form.version)
    get_session(request).flash("success", f"{number} is now {form.status}.")
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
