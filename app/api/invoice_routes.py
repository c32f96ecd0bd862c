"""/api/v1/invoices: read, create and edit drafts, and the status changes of the invoice page,
through the invoices domain's own services (timeline, webhooks such as `invoice.paid`).

There is no delete: the invoice pages have none either (an invoice number, once given, is
never taken back; a wrong invoice is voided)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import post

from app.accounts.schemas import Current
from app.api.auth import needs
from app.api.conformance import bind
from app.api.invoice_send import send_invoice
from app.api.listing import form_source, version_of
from app.api.resource import Resource, Values
from app.api.schemas import (
    InvoiceIn,
    InvoiceLineIn,
    InvoiceLineOut,
    InvoiceOut,
    InvoicePatch,
    InvoiceStatusIn,
)
from app.core.forms import Form, parse
from app.core.http_types import Req
from app.invoices import reading, services
from app.invoices.schemas import (
    InvoiceEdit,
    InvoiceForm,
    LineForm,
    StatusChange,
    invoice_number,
)


def _numbered(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "number": invoice_number(int(row["number"]))}


def _as_form(current: Current, values: Values) -> Values:
    """The invoice's values as the invoice form posts them: each line's fields as
    `line-<n>-<field>` (lines sent as JSON objects or read back as Structs alike)."""
    found = {k: v for k, v in values.items() if k != "lines"}
    lines = values.get("lines") or []
    for index, line in enumerate(lines if isinstance(lines, list) else []):
        fields = msgspec.structs.asdict(line) if isinstance(line, msgspec.Struct) else line
        for field, value in fields.items():
            found[f"line-{index}-{field}"] = value
    return found


class InvoiceResource(Resource[InvoiceOut, Form, InvoiceEdit]):
    """Invoices read one at a time with their lines (the invoices domain's own read)."""

    async def read(self, current: Current, record_id: UUID) -> InvoiceOut:
        view = await reading.get_invoice(current, record_id)
        lines = [
            InvoiceLineOut(ln.description, ln.quantity, ln.unit_price, ln.tax_rate)
            for ln in view.lines
        ]
        return self.as_out({**msgspec.structs.asdict(view), "lines": lines})


@post("/invoices", opt=needs("invoices", "write"))
async def create_invoice(current: Current, data: InvoiceIn) -> InvoiceOut:
    """A draft invoice for a company of the workspace, with its line items."""
    form = parse(InvoiceForm, form_source(_as_form(current, msgspec.structs.asdict(data))))
    return await INVOICES.read(current, await services.create_invoice(current, form))


@post("/invoices/{invoice_id:uuid}/status", opt=needs("invoices", "write"), status_code=200)
async def change_invoice_status(
    request: Req, current: Current, invoice_id: UUID, data: InvoiceStatusIn
) -> InvoiceOut:
    """Mark the invoice as sent, paid, overdue or void, as the invoice page's buttons do (the
    same transitions; paid emits the `invoice.paid` webhook). The version read (If-Match or
    `version`) must still be current, else 409."""
    values = {"status": data.status, "version": version_of(request, data.version)}
    form = parse(StatusChange, form_source(values))  # the page's own status input
    await services.change_status(current, invoice_id, form.status, form.version)
    return await INVOICES.read(current, invoice_id)


INVOICES = InvoiceResource(
    name="invoices",
    one="invoice",
    search="r.notes",
    owner="r.created_by",
    columns={"lines": None},  # read one invoice at a time (InvoiceResource.read)
    out=InvoiceOut,
    body=InvoicePatch,
    update=(InvoiceEdit, services.update_invoice),
    opened=_numbered,
    local=_as_form,
    about="Invoices without their lines (q: notes; owner: who created it; updated_since).",
    extra=(create_invoice, change_invoice_status, send_invoice),
)

bind(InvoiceIn, InvoiceForm, create=(InvoiceForm,))
bind(InvoiceLineIn, LineForm)
bind(InvoiceStatusIn, StatusChange)
ROUTES = INVOICES.routes()
