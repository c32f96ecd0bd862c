"""Invoice statuses and the transitions the service allows; the invoice forms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from app.core.forms import (
    Amount,
    Choice,
    Cursor,
    Day,
    Email,
    Form,
    Integer,
    Ref,
    Rows,
    Text,
    Version,
)
from app.invoices.money import CURRENCIES, Line, compute_totals, to_cents

STATUSES = ("draft", "sent", "paid", "overdue", "void")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("sent", "void"),
    "sent": ("paid", "overdue", "void"),
    "overdue": ("paid", "void"),
    "paid": (),
    "void": (),
}
ACTION_LABELS = {
    "sent": "Mark as sent",
    "paid": "Mark as paid",
    "overdue": "Mark as overdue",
    "void": "Void",
}
MAX_LINES = 100
TOTAL_MAX = Decimal("99999999999.99")
CURRENCY_MESSAGE = f"Choose one of {', '.join(CURRENCIES)}."


# an invoice's stored fields besides its lines: what an edit changes and a conflict compares
INVOICE_FIELDS = ("company_id", "deal_id", "currency", "issue_date", "due_date", "notes")


def invoice_number(number: int) -> str:
    return f"INV-{number:05d}"


# ---- what the invoice pages accept (app/core/forms) -----------------------------------------

QTY_MAX = Decimal(1_000_000)
PRICE_MAX = Decimal(100_000_000)
LINE_MAX = Decimal("9999999999.99")  # numeric(14, 2) columns hold up to 999,999,999,999.99


class LineForm(Form):
    """One line item of the invoice form (`line-<n>-<field>`)."""

    description: Annotated[str, Text("a description", 1000, required=True)]
    unit_price: Annotated[
        Decimal,
        Amount(
            "the price",
            PRICE_MAX,
            message="Enter a price from 0 to 100,000,000 with at most 2 decimals.",
        ),
    ]
    quantity: Annotated[
        Decimal,
        Amount(
            "the quantity",
            QTY_MAX,
            minimum=Decimal("0.001"),
            decimals=3,
            default=Decimal(1),
            message="Enter a quantity above 0, with at most 3 decimals.",
        ),
    ] = Decimal(1)
    tax_rate: Annotated[
        Decimal,
        Amount(
            "the tax rate",
            Decimal(100),
            default=Decimal(0),
            message="Enter a tax rate from 0 to 100 (percent).",
        ),
    ] = Decimal(0)

    def problems(self) -> dict[str, str]:
        if to_cents(self.quantity * self.unit_price) > LINE_MAX:
            return {"quantity": "This line's amount is too large (over 10 billion)."}
        return {}


class InvoiceForm(Form):
    """A new draft invoice with its lines."""

    company_id: Annotated[UUID, Ref("Choose a company.", required=True)]
    due_date: Annotated[date, Day("the due date", required=True)]
    deal_id: Annotated[UUID | None, Ref("Choose a deal of this company.")] = None
    currency: Annotated[
        str, Choice("the currency", CURRENCIES, upper=True, message=CURRENCY_MESSAGE)
    ] = "EUR"
    issue_date: Annotated[date | None, Day("the issue date")] = None
    notes: Annotated[str, Text("the notes", 5000, multiline=True)] = ""
    lines: Annotated[
        list[LineForm],
        Rows(
            LineForm,
            "line",
            MAX_LINES,
            "the line items",
            filled_by=("description", "quantity", "unit_price"),
        ),
    ] = []

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.due_date < (self.issue_date or date.today()):
            errors["due_date"] = "The due date can't be before the issue date."
        if not self.lines:
            errors["lines"] = "Add at least one line item."
        elif len(self.lines) > MAX_LINES:
            errors["lines"] = f"An invoice can have at most {MAX_LINES} lines."
        elif compute_totals(self.line_items()).total > TOTAL_MAX:
            errors["lines"] = "The invoice total is too large (over 100 billion)."
        return errors

    def line_items(self) -> list[Line]:
        return [Line(ln.description, ln.quantity, ln.unit_price, ln.tax_rate) for ln in self.lines]


class InvoiceEdit(InvoiceForm, kw_only=True):
    version: Annotated[int, Version()]


class LineAction(Form):
    """The form's "Add line" / "Remove" buttons without JavaScript: the form comes back with a
    row more or less instead of being saved."""

    add_line: Annotated[str, Text("the add line button", 10, lenient=True)] = ""
    remove_line: Annotated[
        int | None, Integer("the line to remove", 0, MAX_LINES + 10, lenient=True)
    ] = None


class SendForm(Form):
    """Email the invoice (its PDF attached) to the customer, from the version the page showed."""

    to: Annotated[str, Email("the customer's email address")]
    subject: Annotated[str, Text("the subject", 200, required=True)]
    message: Annotated[str, Text("the message", 5000, multiline=True, required=True)]
    version: Annotated[int, Version()]


class StatusChange(Form):
    """A status button on the invoice page, for the version the page showed."""

    status: Annotated[str, Choice("the status", STATUSES, message="Choose a status.")]
    version: Annotated[int, Version()]


class InvoiceListQuery(Form):
    """`/invoices?status=…&before=…` (an unknown status lists all; a bad page key, page 1)."""

    status: Annotated[str, Choice("the status", STATUSES, lenient=True, required=False)] = ""
    before: Annotated[str | None, Cursor()] = None


class NewInvoiceQuery(Form):
    """`/invoices/new?company=…`: the company to preselect (a bad id preselects none)."""

    company: Annotated[UUID | None, Ref("Choose a company.", lenient=True)] = None
