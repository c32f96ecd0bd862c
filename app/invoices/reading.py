"""Reading invoices: the invoice page's data (InvoiceView, shared by print page, PDF and mail),
the list's keyset pages, the form's choices and values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import msgspec

from app.accounts.schemas import Current
from app.core.crypto import decrypt_list
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.core.forms.values import chosen_ids, form_values
from app.core.rows import Choices, rows_as
from app.core.templating import render_html
from app.crm.activity import TimelineEntry, timeline
from app.crm.queries import company_choices
from app.crm.secure import contact_binding
from app.crm.tables import Contact
from app.invoices import queries
from app.invoices.money import CURRENCIES, Line, Totals, compute_totals
from app.invoices.pdf import html_to_pdf
from app.invoices.queries import InvoiceHead, InvoiceListRow, SendRecord
from app.invoices.schemas import INVOICE_FIELDS, TRANSITIONS, invoice_number
from app.invoices.tables import InvoiceLine


class InvoiceLineRow(msgspec.Struct, kw_only=True):
    """One stored line of an invoice."""

    id: UUID
    position: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    net_amount: Decimal


class InvoiceView(InvoiceHead, kw_only=True):
    """An invoice as its page, print page, PDF and mail show it."""

    seller_name: str
    label: str
    lines: list[InvoiceLineRow]
    totals: Totals
    sends: list[SendRecord]
    timeline: list[TimelineEntry]
    next_statuses: tuple[str, ...]
    overdue_now: bool
    payment_note: str = ""


async def get_invoice(current: Current, invoice_id: UUID) -> InvoiceView:
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        head = await queries.invoice_head(c, invoice_id)
        if head is None:
            raise RecordNotFound("invoice")
        lines = rows_as(
            InvoiceLineRow,
            await InvoiceLine.select()
            .where(InvoiceLine.invoice_id == invoice_id)
            .order_by(InvoiceLine.position),
        )
        history = await timeline("invoice", invoice_id)
        sends = await queries.invoice_sends(c, invoice_id, 50)
    invoice = InvoiceView(
        **msgspec.structs.asdict(head),
        seller_name=head.seller_legal_name or head.tenant_name,
        label=invoice_number(head.number),
        lines=lines,
        totals=compute_totals(
            Line(ln.description, ln.quantity, ln.unit_price, ln.tax_rate) for ln in lines
        ),
        sends=[msgspec.structs.replace(s, state=send_state(s)) for s in sends],
        timeline=history,
        next_statuses=TRANSITIONS[head.status],
        overdue_now=head.status == "sent" and head.due_date < date.today(),
    )
    invoice.payment_note = payment_note(invoice)
    return invoice


def send_state(send: SendRecord) -> str:
    """What became of an emailed invoice, from its outbox mail."""
    if send.outbox_row is None:
        return "no longer tracked"
    if send.sent_at is not None:
        return "delivered"
    if send.failed_at is not None:
        return f"failed: {send.last_error or 'not delivered'}"
    return "retrying" if send.attempts else "queued"


def _day(value: date | datetime) -> str:
    return value.strftime("%d %B %Y")


def payment_note(invoice: InvoiceView) -> str:
    """The sentence about payment that the invoice page, print page, PDF and mail carry."""
    status = invoice.status
    amount = f"{invoice.total:,.2f} {invoice.currency}"
    if status == "paid":
        paid = invoice.paid_at
        return f"Paid on {_day(paid)}, thank you." if paid else "Paid, thank you."
    if status == "void":
        return "This invoice was cancelled: nothing is to be paid."
    due = invoice.due_date
    if status == "overdue" or (status == "sent" and due < date.today()):
        return (
            f"Overdue since {_day(due + timedelta(days=1))}: please pay {amount} now,"
            f" quoting {invoice.label}."
        )
    return f"Please pay {amount} by {_day(due)}, quoting {invoice.label}."


def send_defaults(invoice: InvoiceView, to_addr: str) -> dict[str, str]:
    """What the send form starts with."""
    subject = f"Invoice {invoice.label} from {invoice.seller_name}"
    if invoice.status == "void":
        subject = f"Cancelled: invoice {invoice.label} from {invoice.seller_name}"
    message = (
        f"Hello,\n\nplease find attached invoice {invoice.label} for"
        f" {invoice.total:,.2f} {invoice.currency}.\n\n{invoice.payment_note}"
        f"\n\nKind regards,\n{invoice.seller_name}"
    )
    return {
        "to": to_addr,
        "subject": subject[:200],
        "message": message,
        "version": str(invoice.version),
    }


async def customer_email(current: Current, company_id: UUID) -> str:
    """The first email address of the billed company's contacts (oldest contact first), or ""."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        # the company's first contacts (oldest first) that have an email address
        rows = await (
            Contact.select(Contact.id, Contact.emails_enc)
            .where(Contact.company_id == company_id, Contact.emails_enc != [])
            .order_by(Contact.created_at, Contact.id)
            .limit(5)
        )
    for row in rows:
        try:
            emails = decrypt_list(
                row["emails_enc"], contact_binding("emails_enc", current.tenant_id, row["id"])
            )
        except Exception:  # noqa: S112 - an undecryptable address is simply not offered
            continue
        if emails:
            return emails[0]
    return ""


async def render_pdf(invoice: InvoiceView) -> bytes:
    """The invoice's PDF: the print page's template, rendered without network access."""
    return await html_to_pdf(render_html("invoices/print.html", {"invoice": invoice, "pdf": True}))


async def list_invoices(
    current: Current, status: str = "", before: str | None = None, limit: int = 50
) -> tuple[list[InvoiceListRow], str | None]:
    """Newest number first (keyset on number); returns the rows and the next page's cursor."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        rows, next_cursor = await queries.invoice_page(c, current.tenant_id, status, before, limit)
    for row in rows:
        row.label = invoice_number(row.number)
    return rows, next_cursor


class FormChoices(msgspec.Struct, frozen=True):
    """What the invoice form offers: companies and deals, currencies, the default due date."""

    company_options: Choices
    deal_options: Choices
    currencies: tuple[str, ...]
    default_due: str


async def form_choices(current: Current, shown: Mapping[str, object]) -> FormChoices:
    """The company and deal `shown` as chosen on the invoice form (their pickers search the
    rest on the server, app/search), its currencies and default due date."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        return FormChoices(
            company_options=await company_choices(c, chosen_ids(shown.get("company_id"))),
            deal_options=await queries.deal_choices(c, chosen_ids(shown.get("deal_id"))),
            currencies=CURRENCIES,
            default_due=(date.today() + timedelta(days=30)).isoformat(),
        )


def as_form(invoice: InvoiceView) -> dict[str, str]:
    """An invoice's values as the edit form shows them."""
    values = form_values(msgspec.structs.asdict(invoice), ("version", *INVOICE_FIELDS))
    for i, ln in enumerate(invoice.lines):
        values[f"line-{i}-description"] = ln.description
        values[f"line-{i}-quantity"] = f"{ln.quantity.normalize():f}"
        values[f"line-{i}-unit_price"] = str(ln.unit_price)
        values[f"line-{i}-tax_rate"] = f"{ln.tax_rate.normalize():f}"
    return values
