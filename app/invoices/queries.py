"""The invoices' SQL that Piccolo cannot say well, as named typed functions: the per-tenant
number counter, the joined reads of the invoice page, the list's keyset pages and the form's
pickers. Ordinary single-table reads and writes go through the Piccolo tables
(app/invoices/tables.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
import msgspec

from app.core.paging import Params, SortSpec, keyset_page
from app.core.rows import Choices, fetch_as, fetch_choices, fetch_one_as, fetch_value, rows_as
from app.crm.queries import RelatedInvoice
from app.invoices.published import InvoiceTerms


async def next_number(conn: asyncpg.Connection, tenant_id: UUID) -> int:
    """The tenant's next invoice number: one counter row per tenant, bumped atomically (the row
    lock holds until commit, so concurrent invoices queue up and numbers never repeat)."""
    return await fetch_value(
        conn,
        int,
        "insert into invoice_counters (tenant_id, last_number) values ($1, 1)"
        " on conflict (tenant_id) do update set last_number = invoice_counters.last_number + 1"
        " returning last_number",
        tenant_id,
    )


class InvoiceHead(InvoiceTerms[int], kw_only=True):
    """An invoice row with the names its pages print: customer, deal, seller."""

    tenant_id: UUID
    notes: str
    version: int
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    sent_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime
    company_name: str
    company_address: str | None
    company_domain: str | None
    deal_title: str | None
    tenant_name: str
    seller_legal_name: str
    seller_address: str
    seller_vat_id: str
    seller_payment_details: str
    seller_footer: str


async def invoice_head(conn: asyncpg.Connection, invoice_id: UUID) -> InvoiceHead | None:
    """The invoice with its company, deal, workspace and seller details, or None."""
    return await fetch_one_as(
        conn,
        InvoiceHead,
        "select i.*, co.name as company_name, co.address as company_address,"
        " co.domain as company_domain, d.title as deal_title, t.name as tenant_name,"
        " coalesce(s.legal_name, '') as seller_legal_name,"
        " coalesce(s.address, '') as seller_address, coalesce(s.vat_id, '') as seller_vat_id,"
        " coalesce(s.payment_details, '') as seller_payment_details,"
        " coalesce(s.invoice_footer, '') as seller_footer"
        " from invoices i join companies co on co.id = i.company_id"
        " left join deals d on d.id = i.deal_id join tenants t on t.id = i.tenant_id"
        " left join seller_details s on s.tenant_id = i.tenant_id"
        " where i.id = $1",
        invoice_id,
    )


class SendRecord(msgspec.Struct, kw_only=True):
    """One email of an invoice and what became of its outbox mail (`state`, in words)."""

    id: UUID
    invoice_id: UUID
    created_at: datetime
    to_addr: str
    subject: str
    sender: str | None
    sent_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    attempts: int | None
    outbox_row: int | None
    state: str = ""


SENDS_SQL = (
    "select s.id, s.invoice_id, s.created_at, s.to_addr, s.subject, u.name as sender,"
    " o.sent_at, o.failed_at, o.last_error, o.attempts, o.id as outbox_row"
    " from invoice_sends s left join users u on u.id = s.sent_by"
    " left join outbox o on o.id = s.outbox_id"
)


async def invoice_sends(conn: asyncpg.Connection, invoice_id: UUID, limit: int) -> list[SendRecord]:
    """The invoice's latest `limit` emails, newest first, with sender and delivery."""
    return await fetch_as(
        conn,
        SendRecord,
        f"{SENDS_SQL} where s.invoice_id = $1 order by s.created_at desc limit $2",
        invoice_id,
        limit,
    )


async def send_record(conn: asyncpg.Connection, send_id: UUID) -> SendRecord | None:
    """One email of an invoice, with sender and delivery."""
    return await fetch_one_as(conn, SendRecord, f"{SENDS_SQL} where s.id = $1", send_id)


class DaySends(msgspec.Struct, frozen=True):
    """The invoice's emails of the last 24 hours, and the seconds until the oldest of them
    leaves that window."""

    count: int
    frees_in: int


async def sends_in_last_day(conn: asyncpg.Connection, invoice_id: UUID) -> DaySends:
    """How many times the invoice was emailed in the last 24 hours (and when one more may go)."""
    found = await fetch_one_as(
        conn,
        DaySends,
        "select count(*)::int as count, coalesce(ceil(extract(epoch from"
        " min(created_at) + interval '1 day' - now())), 0)::int as frees_in"
        " from invoice_sends where invoice_id = $1 and created_at > now() - interval '1 day'",
        invoice_id,
    )
    return found or DaySends(0, 0)


class InvoiceListRow(RelatedInvoice, kw_only=True):
    """An invoice as the list shows it: as a company's page does, with its date, customer and
    printed number."""

    issue_date: date
    company_name: str
    label: str = ""


NEWEST_NUMBER = SortSpec("Newest first", ("i.number",), ("int",), descending=True)


async def invoice_page(
    conn: asyncpg.Connection, tenant_id: UUID, status: str, before: str | None, limit: int
) -> tuple[list[InvoiceListRow], str | None]:
    """Newest number first (keyset on number), only `status` when given; the rows and the
    next page's cursor."""
    params = Params()
    where = [f"i.tenant_id = {params.add(tenant_id)}"]
    if status:
        where.append(f"i.status = {params.add(status)}")
    page = await keyset_page(
        conn,
        select="i.id, i.number, i.status, i.currency, i.total, i.due_date, i.issue_date,"
        " co.name as company_name",
        from_sql="invoices i join companies co on co.id = i.company_id",
        where=where,
        params=params,
        spec=NEWEST_NUMBER,
        after=before,
        limit=limit,
    )
    return rows_as(InvoiceListRow, page.rows), page.next_cursor


async def deal_choices(conn: asyncpg.Connection, ids: list[UUID]) -> Choices:
    """The deals `ids` (a form's chosen one) by title."""
    return await fetch_choices(
        conn,
        "select id, title from deals where id = any($1::uuid[]) order by lower(title), id",
        ids,
    )


# A person's email address leaves the invoices' send records (when and what stay): $1 the
# lower-cased addresses, $2 what replaces them; run per tenant by the data map.
ERASE_SEND_ADDRESSES = (
    "update invoice_sends set to_addr = $2 where lower(to_addr) = any($1::text[])"
)


# The deals domain is a sibling (neither imports the other), so its rows are read by name here.


async def deal_title(conn: asyncpg.Connection, deal_id: UUID) -> str | None:
    """The title of a deal of the workspace, or None."""
    title = await conn.fetchval("select title from deals where id = $1", deal_id)
    return None if title is None else str(title)


class DealOwner(msgspec.Struct, frozen=True):
    """The company a deal is with (None: no company)."""

    company_id: UUID | None


async def deal_owner(conn: asyncpg.Connection, deal_id: UUID) -> DealOwner | None:
    """Which company a deal of the workspace is with; None when there is no such deal."""
    return await fetch_one_as(
        conn, DealOwner, "select company_id from deals where id = $1", deal_id
    )
