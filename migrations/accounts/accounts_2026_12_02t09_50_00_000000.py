"""Accounts: the seller details a workspace prints on its invoices (legal name, address, VAT id,
payment details, footer), one versioned row per workspace, edited by admins on Company settings.
"""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-02T09:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "seller details of a workspace (invoices)"

SQL = (
    """
create table seller_details (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    legal_name text not null default '' check (length(legal_name) <= 200),
    address text not null default '' check (length(address) <= 1000),
    vat_id text not null default '' check (length(vat_id) <= 40),
    payment_details text not null default '' check (length(payment_details) <= 1000),
    invoice_footer text not null default '' check (length(invoice_footer) <= 1000),
    version integer not null default 1 check (version > 0),
    updated_by uuid references users (id) on delete set null,
    updated_at timestamptz not null default now()
);
"""
    + tenant_rls("seller_details")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "accounts", DESCRIPTION, SQL)
