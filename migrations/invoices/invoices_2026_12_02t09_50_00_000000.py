"""Invoices: a record of each time an invoice was emailed to the customer (who sent it, to which
address, with which subject, and the outbox mail that carries the PDF; delivered or failed is
read from that mail)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-02T09:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "invoice sends"

SQL = (
    """
create table invoice_sends (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    invoice_id uuid not null references invoices (id) on delete cascade,
    sent_by uuid references users (id) on delete set null,
    to_addr text not null check (length(to_addr) between 1 and 254),
    subject text not null check (length(subject) between 1 and 200),
    -- the outbox mail (global, no foreign key: sent mail leaves the outbox after 30 days)
    outbox_id bigint,
    created_at timestamptz not null default now()
);
create index invoice_sends_invoice on invoice_sends (tenant_id, invoice_id, created_at desc);
"""
    + tenant_rls("invoice_sends")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "invoices", DESCRIPTION, SQL)
