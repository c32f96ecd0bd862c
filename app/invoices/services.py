"""Invoice actions: create and edit drafts, numbers from a per-tenant counter, status workflow,
sending (reads are in reading.py)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import msgspec
from piccolo.columns import Column
from piccolo.querystring import QueryString

from app.accounts.schemas import Current
from app.core import ratelimit
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.mail import queue_mail
from app.core.mail_attachments import Attachment
from app.core.money import amount
from app.core.rows import struct_as
from app.core.versioned import update_at_version
from app.crm.activity import log_activity, stale_page
from app.crm.common import conn
from app.crm.records import refuse_old_edit
from app.crm.tables import Company
from app.invoices import queries
from app.invoices.money import Line, Totals, compute_totals
from app.invoices.reading import get_invoice, payment_note, render_pdf
from app.invoices.schemas import (
    INVOICE_FIELDS,
    TRANSITIONS,
    InvoiceEdit,
    InvoiceForm,
    SendForm,
    invoice_number,
)
from app.invoices.tables import Invoice, InvoiceLine, InvoiceSend

NOW = QueryString("now()")  # the transaction's time, as the database's defaults use


class InvoiceValues(msgspec.Struct, kw_only=True):
    """An invoice form's stored fields (the lines aside)."""

    company_id: UUID
    deal_id: UUID | None
    currency: str
    issue_date: date
    due_date: date
    notes: str


def _invoice_data(form: InvoiceForm) -> InvoiceValues:
    return struct_as(InvoiceValues, form, issue_date=form.issue_date or date.today())


async def _as_read(data: dict[str, object]) -> dict[str, object]:
    """An invoice's fields as people read them (names, not ids; its lines by their `total`), to
    show an edit conflict."""
    total = data["total"]
    assert isinstance(total, Decimal)
    company = await Company.select(Company.name).where(Company.id == data["company_id"]).first()
    deal_id = data["deal_id"]
    deal = await queries.deal_title(conn(), deal_id) if isinstance(deal_id, UUID) else None
    return {
        **data,
        "company_id": None if company is None else company["name"],
        "deal_id": deal,
        "lines": f"total {amount(total)}",
    }


async def _check_refs(data: InvoiceValues) -> None:
    if not await Company.exists().where(Company.id == data.company_id):
        raise FormInvalid({"company_id": "Choose a company from your workspace."})
    if data.deal_id is not None:
        deal = await queries.deal_owner(conn(), data.deal_id)
        if deal is None:
            raise FormInvalid({"deal_id": "Choose a deal from your workspace."})
        if deal.company_id not in (None, data.company_id):
            raise FormInvalid({"deal_id": "That deal belongs to another company."})


async def _write_lines(tenant_id: UUID, invoice_id: UUID, lines: list[Line]) -> Totals:
    totals = compute_totals(lines)
    await InvoiceLine.delete().where(InvoiceLine.invoice_id == invoice_id)
    if lines:
        await InvoiceLine.insert(
            *(
                InvoiceLine(
                    id=uuid.uuid4(),
                    tenant_id=tenant_id,
                    invoice_id=invoice_id,
                    position=i,
                    net_amount=ln.net,
                    **dataclasses.asdict(ln),  # description, quantity, unit price, tax rate
                )
                for i, ln in enumerate(lines)
            )
        )
    await Invoice.update(
        {
            Invoice.subtotal: totals.subtotal,
            Invoice.tax_total: totals.tax_total,
            Invoice.total: totals.total,
            Invoice.updated_at: NOW,
        }
    ).where(Invoice.id == invoice_id)
    return totals


async def next_number(tenant_id: UUID) -> int:
    """The tenant's next invoice number (see queries.next_number)."""
    return await queries.next_number(conn(), tenant_id)


async def create_invoice(current: Current, form: InvoiceForm) -> UUID:
    data, lines = _invoice_data(form), form.line_items()
    invoice_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id):
        await _check_refs(data)
        number = await next_number(current.tenant_id)
        await Invoice.insert(
            Invoice(
                id=invoice_id,
                tenant_id=current.tenant_id,
                number=number,
                created_by=current.user_id,
                **msgspec.structs.asdict(data),
            )
        )
        totals = await _write_lines(current.tenant_id, invoice_id, lines)
        summary = f"created invoice {invoice_number(number)} ({totals.total} {data.currency})"
        await log_activity(current, "invoice", invoice_id, "created", summary)
        await log_activity(current, "company", data.company_id, "invoice", summary)
    return invoice_id


async def _locked(invoice_id: UUID) -> Invoice:
    row = await Invoice.objects().where(Invoice.id == invoice_id).lock_rows("UPDATE").first()
    if row is None:
        raise RecordNotFound("invoice")
    return row


async def update_invoice(current: Current, invoice_id: UUID, form: InvoiceEdit) -> None:
    """Edit a draft made from version `form.version` (EditConflict when it moved on since;
    sent invoices are legal documents: void and reissue instead)."""
    data, lines = _invoice_data(form), form.line_items()
    async with tenant_transaction(current.tenant_id, current.user_id):
        before = await _locked(invoice_id)
        if before.status != "draft":
            raise FormInvalid(
                {"form": "Only drafts can be edited. Void this invoice and issue a new one."}
            )
        await _check_refs(data)
        wanted = msgspec.structs.asdict(data)
        await refuse_old_edit(
            "invoice",
            invoice_id,
            before.to_dict(),
            {**wanted, "total": compute_totals(lines).total},
            (*INVOICE_FIELDS, "lines"),
            form.version,
            _as_read,
        )
        # `wanted`: the fields create_invoice stores. The row lock makes a miss unreachable;
        # never say "saved" all the same
        if await update_at_version(Invoice, invoice_id, form.version, wanted) is None:
            raise RecordNotFound("invoice")
        totals = await _write_lines(current.tenant_id, invoice_id, lines)
        changes: dict[str, dict[str, object]] = {}
        if before.total != totals.total:
            changes["total"] = {"from": str(before.total), "to": str(totals.total)}
        await log_activity(current, "invoice", invoice_id, "updated", "edited the draft", changes)


async def change_status(current: Current, invoice_id: UUID, target: str, version: int) -> str:
    """Move an invoice along draft -> sent -> paid / overdue / void, if it is still the
    `version` the page showed (no sending a draft someone just changed); returns its number."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        row = await _locked(invoice_id)
        if row.version != version:
            retry = "then choose the status again"
            raise await stale_page("invoice", invoice_id, "invoice", row.version, retry)
        status = row.status
        if target not in TRANSITIONS.get(status, ()):
            raise FormInvalid({"status": f"A {status} invoice can't be marked as {target}."})
        if target == "overdue" and row.due_date >= date.today():
            raise FormInvalid({"status": "It isn't overdue yet: the due date hasn't passed."})
        number = invoice_number(row.number)
        await _move_status(current, invoice_id, number, status, target)
    return number


async def _move_status(
    current: Current, invoice_id: UUID, label: str, status: str, target: str
) -> None:
    """Write the invoice's new status (stamping when it was sent, paid or voided, and
    bumping its version) and record the move in its timeline."""
    changes: dict[Column | str, object] = {
        Invoice.status: target,
        Invoice.version: Invoice.version + 1,
        Invoice.updated_at: NOW,
    }
    stamp = {"sent": Invoice.sent_at, "paid": Invoice.paid_at, "void": Invoice.voided_at}
    if target in stamp:
        changes[stamp[target]] = NOW
    await Invoice.update(changes).where(Invoice.id == invoice_id)
    await log_activity(
        current,
        "invoice",
        invoice_id,
        "status",
        f"marked {label} as {target}",
        {"status": {"from": status, "to": target}},
    )


MAX_SENDS_PER_DAY = 20
# mail to any address the member types: bounded so a workspace can't be used to send spam
SENDS_PER_USER = ratelimit.Limit("invoice-mail-user", 60, 3600)


class SendLimitReached(FormInvalid):
    """The invoice was emailed MAX_SENDS_PER_DAY times in the last 24 hours (the form again
    with the message; `retry_after`: the seconds until one more may go)."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__({"form": f"{reason} Try again tomorrow."})
        self.reason = reason
        self.retry_after = retry_after


class Sent(msgspec.Struct, frozen=True):
    """An email of an invoice on its way: the invoice's number and the send record's id."""

    label: str
    send_id: UUID


async def send_invoice(current: Current, invoice_id: UUID, form: SendForm) -> Sent:
    """Email the invoice with its PDF to `form.to` through the outbox; a draft becomes sent.
    Refused when the invoice changed since the page was shown, and past the send limits (the
    member's per hour: 429; the invoice's per day: SendLimitReached)."""
    invoice = await get_invoice(current, invoice_id)
    if invoice.version != form.version:
        async with tenant_transaction(current.tenant_id, current.user_id):
            raise await stale_page(
                "invoice", invoice_id, "invoice", invoice.version, "then send it again"
            )
    await ratelimit.enforce(
        SENDS_PER_USER, str(current.user_id), "You've emailed a lot of invoices in a short time."
    )
    was_draft = invoice.status == "draft"
    if was_draft:  # what the customer gets is the sent invoice, not the draft
        invoice = msgspec.structs.replace(invoice, status="sent", sent_at=datetime.now(UTC))
        invoice.payment_note = payment_note(invoice)
    pdf = await render_pdf(invoice)
    label = invoice.label
    send_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await _locked(invoice_id)
        if row.version != form.version:
            raise await stale_page(
                "invoice", invoice_id, "invoice", row.version, "then send it again"
            )
        recent = await queries.sends_in_last_day(c, invoice_id)
        if recent.count >= MAX_SENDS_PER_DAY:
            raise SendLimitReached(
                f"{label} was emailed {recent.count} times today.",
                recent.frees_in,
            )
        if was_draft:
            await _move_status(current, invoice_id, label, "draft", "sent")
        outbox_id = await queue_mail(
            "invoice",
            form.to,
            form.subject,
            "invoice.txt",
            attachments=[Attachment(f"{label}.pdf", "application/pdf", pdf)],
            message=form.message,
        )
        await InvoiceSend.insert(
            InvoiceSend(
                id=send_id,
                tenant_id=current.tenant_id,
                invoice_id=invoice_id,
                sent_by=current.user_id,
                to_addr=form.to,
                subject=form.subject,
                outbox_id=outbox_id,
            )
        )
        emailed = f"emailed {label} with its PDF to the customer"
        await log_activity(current, "invoice", invoice_id, "emailed", emailed)
    return Sent(label, send_id)
