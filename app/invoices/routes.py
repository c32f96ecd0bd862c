"""Invoice pages: list, new, edit draft, detail with status actions, printable page, PDF,
email to the customer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from uuid import UUID

import msgspec
from litestar import Response, get, post

from app.accounts.deps import routes_at
from app.accounts.form_routes import FormVisit, shown_again
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import RecordNotFound
from app.core.forms import read_form, read_query
from app.core.forms.parse import as_source
from app.core.http_types import Req
from app.core.web import content_disposition, redirect, render
from app.invoices import reading, services
from app.invoices.schemas import (
    ACTION_LABELS,
    MAX_LINES,
    STATUSES,
    InvoiceEdit,
    InvoiceForm,
    InvoiceListQuery,
    LineAction,
    NewInvoiceQuery,
    SendForm,
    StatusChange,
)

LINE_KEY = re.compile(r"^line-(\d{1,4})-(\w+)$", re.ASCII)
LINE_FIELDS = ("description", "quantity", "unit_price", "tax_rate")


def _rows_in(values: Mapping[str, object]) -> int:
    """How many line rows the values hold (the highest row number sent, plus one)."""
    found = [int(m.group(1)) for m in map(LINE_KEY.match, values) if m]
    return max(found) + 1 if found else 0


async def _form_page(
    visit: FormVisit,
    invoice_id: UUID | None,
    *,
    values: Mapping[str, object] | None = None,
    rows: int | None = None,
) -> Response[str]:
    """The invoice form: new (one row), a draft to edit, or refused (messages + input kept);
    "Add line" adds rows in the browser (static/js/invoice-lines.js), or here without it."""
    current, refused = visit.current, visit.refused
    invoice = await reading.get_invoice(current, invoice_id) if invoice_id else None
    shown = refused.shown() if refused else values or {}
    wanted = rows if rows is not None else _rows_in(shown)
    ctx = {
        "values": shown,
        "errors": refused.errors if refused else {},
        "invoice": invoice,
        "line_count": min(max(wanted, 1), MAX_LINES),
        "max_lines": MAX_LINES,
        **msgspec.structs.asdict(await reading.form_choices(current, shown)),
    }
    return render(visit.request, "invoices/form.html", ctx, block="form")


async def _line_action(
    request: Req, current: Current, invoice_id: UUID | None
) -> Response[str] | None:
    """The form again with a row more or less when "Add line" or "Remove" was pressed (no
    JavaScript); None when the form was submitted to be saved."""
    action = await read_form(request, LineAction)
    if not action.add_line and action.remove_line is None:
        return None
    source, _ = as_source(await request.form())
    values = {k: v[-1] for k, v in source.items() if k != "_csrf"}
    rows = _rows_in(values)
    if action.remove_line is not None and action.remove_line < rows:
        kept = [i for i in range(rows) if i != action.remove_line]
        lines = {k: v for k, v in values.items() if LINE_KEY.match(k)}
        values = {k: v for k, v in values.items() if not LINE_KEY.match(k)}
        for new, old in enumerate(kept):
            for field in LINE_FIELDS:
                values[f"line-{new}-{field}"] = lines.get(f"line-{old}-{field}", "")
        rows = len(kept)
    elif action.add_line:
        rows += 1
    values.pop("add_line", None)
    values.pop("remove_line", None)
    return await _form_page(FormVisit(request, current), invoice_id, values=values, rows=rows)


@get("/invoices")
async def invoice_list(request: Req, current: Current) -> Response[str]:
    query = read_query(request, InvoiceListQuery)
    items, next_key = await reading.list_invoices(current, query.status, query.before)
    ctx = {"invoices": items, "status": query.status, "statuses": STATUSES, "next_key": next_key}
    return render(request, "invoices/list.html", ctx)


@get("/invoices/new")
async def invoice_new(request: Req, current: Current) -> Response[str]:
    company = read_query(request, NewInvoiceQuery).company
    choices = await reading.form_choices(current, {})
    values = {
        "company_id": str(company or ""),
        "currency": "EUR",
        "due_date": choices.default_due,
    }
    return await _form_page(FormVisit(request, current), None, values=values)


@post("/invoices/new")
async def invoice_create(request: Req, current: Current) -> Response[str]:
    changed = await _line_action(request, current, None)
    if changed is not None:
        return changed
    page = shown_again(_form_page, request, current, None)
    form = await read_form(request, InvoiceForm, page=page)
    invoice_id = await services.create_invoice(current, form)
    return redirect(request, f"/invoices/{invoice_id}", "Invoice created as a draft.")


async def _detail(visit: FormVisit, invoice_id: UUID, *, sending: bool = False) -> Response[str]:
    """The invoice with its status actions and the form emailing it; refused input is the
    status change's, or the email's when `sending`."""
    current = visit.current
    refused, send_refused = (None, visit.refused) if sending else (visit.refused, None)
    invoice = await reading.get_invoice(current, invoice_id)
    errors = refused.errors if refused else {}
    send_values: Mapping[str, object]
    if send_refused is not None:
        send_values = send_refused.shown()
    else:
        to_addr = await reading.customer_email(current, invoice.company_id)
        send_values = reading.send_defaults(invoice, to_addr)
    ctx = {
        "invoice": invoice,
        "errors": errors,
        "action_labels": ACTION_LABELS,
        "send_values": send_values,
        "send_errors": send_refused.errors if send_refused else {},
    }
    return render(visit.request, "invoices/detail.html", ctx)


def _invoice_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise RecordNotFound("invoice") from None


@get("/invoices/{invoice_ref:str}")
async def invoice_detail(
    request: Req, current: Current, invoice_ref: str
) -> Response[str] | Response[bytes]:
    """The invoice page, or its PDF as `/invoices/<id>.pdf` (one path segment: the router
    can't tell `<uuid>.pdf` from `<uuid>` by type)."""
    if invoice_ref.endswith(".pdf"):
        return await _pdf(current, _invoice_id(invoice_ref.removesuffix(".pdf")))
    return await _detail(FormVisit(request, current), _invoice_id(invoice_ref))


@get("/invoices/{invoice_id:uuid}/print")
async def invoice_print(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    invoice = await reading.get_invoice(current, invoice_id)
    return render(request, "invoices/print.html", {"invoice": invoice, "pdf": False})


async def _pdf(current: Current, invoice_id: UUID) -> Response[bytes]:
    """The invoice as a PDF, from the print page's template (another workspace's id: 404)."""
    invoice = await reading.get_invoice(current, invoice_id)
    pdf = await reading.render_pdf(invoice)
    headers = {
        "Content-Disposition": content_disposition(f"{invoice.label}.pdf", "inline"),
        "Cache-Control": "private, no-store",
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


@post("/invoices/{invoice_id:uuid}/send")
async def invoice_send(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    """Email the invoice with its PDF to the customer (through the outbox)."""
    page = shown_again(_detail, request, current, invoice_id, sending=True)
    form = await read_form(request, SendForm, page=page)
    sent = await services.send_invoice(current, invoice_id, form)
    return redirect(request, f"/invoices/{invoice_id}", f"{sent.label} is on its way to {form.to}.")


@get("/invoices/{invoice_id:uuid}/edit")
async def invoice_edit(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    invoice = await reading.get_invoice(current, invoice_id)
    if invoice.status != "draft":
        return redirect(
            request, f"/invoices/{invoice_id}", "Only drafts can be edited.", level="error"
        )
    values = reading.as_form(invoice)
    return await _form_page(FormVisit(request, current), invoice_id, values=values)


@post("/invoices/{invoice_id:uuid}/edit")
async def invoice_update(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    changed = await _line_action(request, current, invoice_id)
    if changed is not None:
        return changed
    page = shown_again(_form_page, request, current, invoice_id)
    await services.update_invoice(
        current, invoice_id, await read_form(request, InvoiceEdit, page=page)
    )
    return redirect(request, f"/invoices/{invoice_id}", "Invoice saved.")


@post("/invoices/{invoice_id:uuid}/status")
async def invoice_status(request: Req, current: Current, invoice_id: UUID) -> Response[str]:
    page = shown_again(_detail, request, current, invoice_id)
    form = await read_form(request, StatusChange, page=page)
    number = await services.change_status(current, invoice_id, form.status, form.version)
    return redirect(request, f"/invoices/{invoice_id}", f"{number} is now {form.status}.")


ROUTES = [
    routes_at(
        Level.MEMBER,
        [
            invoice_list,
            invoice_new,
            invoice_create,
            invoice_detail,
            invoice_print,
            invoice_send,
            invoice_edit,
            invoice_update,
            invoice_status,
        ],
    )
]
