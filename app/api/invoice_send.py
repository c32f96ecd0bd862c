"""POST /api/v1/invoices/{id}/send: email an invoice with its PDF to the customer through the
invoices domain's own send (the outbox, a send record, the send limits, a draft becoming sent,
the timeline), as the invoice page's "Send invoice" form does."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from litestar import post
from msgspec import UNSET, UnsetType

from app.accounts.schemas import Current
from app.api.auth import needs
from app.api.conformance import bind
from app.api.listing import form_source, version_of
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.core.forms import parse
from app.core.http_types import Req
from app.core.ratelimit import too_many
from app.invoices import queries, reading, services
from app.invoices.schemas import SendForm


class InvoiceSendIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Who gets the invoice and what the mail says; each left out is what the invoice page
    offers (the billed company's first contact address, the page's subject and message). The
    invoice's version read (or send If-Match) must still be current, else 409."""

    to: str | UnsetType = UNSET
    subject: str | UnsetType = UNSET
    message: str | UnsetType = UNSET
    version: int | UnsetType = UNSET


bind(InvoiceSendIn, SendForm)


class InvoiceSendOut(msgspec.Struct, frozen=True):
    """One email of an invoice: to whom, and what became of it (`state`: queued, retrying,
    delivered or failed: …), with the invoice's status and version after the send."""

    id: UUID
    invoice_id: UUID
    to: str
    subject: str
    state: str
    created_at: datetime
    invoice_status: str
    invoice_version: int


@post(
    "/invoices/{invoice_id:uuid}/send",
    opt=needs("invoices", "write"),
    status_code=202,
    summary="Email the invoice with its PDF to the customer",
)
async def send_invoice(
    request: Req, current: Current, invoice_id: UUID, data: InvoiceSendIn | None = None
) -> InvoiceSendOut:
    """Queue the invoice's email with its PDF attached (202: it leaves through the outbox;
    `state` tells what became of it). A draft becomes sent. Another workspace's invoice: 404;
    a version that is no longer current: 409; more than 60 sends an hour by the token's member
    or 20 a day of one invoice: 429 with Retry-After."""
    body = data or InvoiceSendIn()
    invoice = await reading.get_invoice(current, invoice_id)
    wanted = msgspec.structs.asdict(body)
    to = wanted["to"]
    if to is UNSET:  # the address the invoice page fills in
        to = await reading.customer_email(current, invoice.company_id)
    defaults = reading.send_defaults(invoice, str(to))
    values = {k: defaults[k] if v is UNSET else v for k, v in wanted.items()}
    values["version"] = version_of(request, body.version)
    form = parse(SendForm, form_source(values))
    try:
        sent = await services.send_invoice(current, invoice_id, form)
    except services.SendLimitReached as exc:
        raise too_many(exc.reason, exc.retry_after) from exc
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        record = await queries.send_record(conn, sent.send_id)
        after = await queries.invoice_head(conn, invoice_id)
    if record is None or after is None:  # erased in the instant since: not there any more
        raise RecordNotFound("invoice")
    return InvoiceSendOut(
        id=record.id,
        invoice_id=invoice_id,
        to=record.to_addr,
        subject=record.subject,
        state=reading.send_state(record),
        created_at=record.created_at,
        invoice_status=after.status,
        invoice_version=after.version,
    )
