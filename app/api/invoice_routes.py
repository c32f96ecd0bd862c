"""/api/v1/invoices: read and create drafts, through the invoices domain's services."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import post

from app.accounts.schemas import Current
from app.api.auth import needs
from app.api.listing import Listing, form_source
from app.api.resource import Resource
from app.api.schemas import InvoiceIn, InvoiceLineOut, InvoiceList, InvoiceOut
from app.core.forms import parse
from app.invoices import reading, services
from app.invoices.schemas import InvoiceForm, invoice_number


def _out(row: dict[str, Any], lines: list[InvoiceLineOut] | None = None) -> InvoiceOut:
    values = {**row, "number": invoice_number(int(row["number"])), "lines": lines or []}
    return msgspec.convert(values, InvoiceOut)


class InvoiceResource(Resource):
    """Invoices read one at a time with their lines (the invoices domain's own read)."""

    async def read(self, current: Current, record_id: UUID) -> InvoiceOut:
        view = await reading.get_invoice(current, record_id)
        lines = [
            InvoiceLineOut(ln.description, ln.quantity, ln.unit_price, ln.tax_rate)
            for ln in view.lines
        ]
        return _out(msgspec.structs.asdict(view), lines)


@post("/invoices", opt=needs("invoices", "write"))
async def create_invoice(current: Current, data: InvoiceIn) -> InvoiceOut:
    """A draft invoice for a company of the workspace, with its line items."""
    values: dict[str, object] = {
        k: v for k, v in msgspec.structs.asdict(data).items() if k != "lines"
    }
    for index, line in enumerate(data.lines):
        for field, value in msgspec.structs.asdict(line).items():
            values[f"line-{index}-{field}"] = value
    form = parse(InvoiceForm, form_source(values))
    return await INVOICES.read(current, await services.create_invoice(current, form))


INVOICES_COLUMNS = (
    "r.id, r.number, r.company_id, r.deal_id, r.currency, r.status, r.issue_date,"
    " r.due_date, r.notes, r.subtotal, r.tax_total, r.total, r.version, r.created_at,"
    " r.updated_at"
)
INVOICES = InvoiceResource(
    name="invoices",
    one="invoice",
    listing=Listing("invoices r", INVOICES_COLUMNS, "r.notes", "r.created_by"),
    out=InvoiceOut,
    page=InvoiceList,
    shown=_out,
    about="Invoices without their lines (q: notes; owner: who created it; updated_since).",
    extra=(create_invoice,),
)

ROUTES = INVOICES.routes()
