"""/api/v1/invoices: read and create drafts, through the invoices domain's services."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Response, get, post

from app.accounts.schemas import Current
from app.api.auth import needs
from app.api.crm_routes import tagged
from app.api.listing import Filters, Listing, form_source, list_page
from app.api.schemas import InvoiceIn, InvoiceLineOut, InvoiceList, InvoiceOut
from app.core.forms import parse
from app.invoices import reading, services
from app.invoices.schemas import InvoiceForm, invoice_number

INVOICES = Listing(
    from_sql="invoices r",
    select=(
        "r.id, r.number, r.company_id, r.deal_id, r.currency, r.status, r.issue_date,"
        " r.due_date, r.notes, r.subtotal, r.tax_total, r.total, r.version, r.created_at,"
        " r.updated_at"
    ),
    search="r.notes",
    owner="r.created_by",
)


def _out(row: dict[str, Any], lines: list[InvoiceLineOut] | None = None) -> InvoiceOut:
    return msgspec.convert(
        {**row, "number": invoice_number(int(row["number"])), "lines": lines or []}, InvoiceOut
    )


async def _invoice(current: Current, invoice_id: UUID) -> InvoiceOut:
    view = await reading.get_invoice(current, invoice_id)
    lines = [
        InvoiceLineOut(ln.description, ln.quantity, ln.unit_price, ln.tax_rate) for ln in view.lines
    ]
    return _out(msgspec.structs.asdict(view), lines)


@get("/invoices", opt=needs("invoices", "read"))
async def list_invoices(current: Current, filters: Filters) -> InvoiceList:
    """Invoices without their lines (q: notes; owner: who created it; updated_since)."""
    page = await list_page(current, INVOICES, filters)
    return InvoiceList([_out(row) for row in page.rows], page.next_cursor)


@get("/invoices/{invoice_id:uuid}", opt=needs("invoices", "read"))
async def get_invoice(current: Current, invoice_id: UUID) -> Response[InvoiceOut]:
    found = await _invoice(current, invoice_id)
    return tagged(found, found.version)  # type: ignore[return-value]


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
    return await _invoice(current, await services.create_invoice(current, form))


ROUTES = [list_invoices, get_invoice, create_invoice]
