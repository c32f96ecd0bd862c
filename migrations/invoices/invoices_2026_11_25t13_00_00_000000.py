"""Invoices: per-tenant number counters, invoices and their lines (tenant data under RLS)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-11-25T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "invoice counters, invoices, invoice lines"

SQL = (
    """
-- one row per tenant, bumped with an upsert in the invoice's transaction: numbers are gapless
-- per tenant and never shared between tenants (no global sequence)
create table invoice_counters (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    last_number integer not null check (last_number > 0)
);

create table invoices (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    number integer not null check (number > 0),
    company_id uuid not null,
    deal_id uuid,
    currency char(3) not null default 'EUR' check (currency ~ '^[A-Z]{3}$'),
    status text not null default 'draft'
        check (status in ('draft', 'sent', 'paid', 'overdue', 'void')),
    issue_date date not null default current_date,
    due_date date not null,
    notes text not null default '' check (length(notes) <= 5000),
    subtotal numeric(14, 2) not null default 0,
    tax_total numeric(14, 2) not null default 0,
    total numeric(14, 2) not null default 0,
    sent_at timestamptz,
    paid_at timestamptz,
    voided_at timestamptz,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, number),
    unique (tenant_id, id),
    check (due_date >= issue_date),
    -- an invoice is a legal record: its company can't be deleted while it exists
    foreign key (tenant_id, company_id) references companies (tenant_id, id) on delete restrict,
    foreign key (tenant_id, deal_id) references deals (tenant_id, id) on delete set null (deal_id)
);
create index invoices_tenant_created on invoices (tenant_id, created_at desc, id desc);
create index invoices_tenant_number on invoices (tenant_id, number desc);
create index invoices_tenant_company on invoices (tenant_id, company_id);
create index invoices_tenant_deal on invoices (tenant_id, deal_id);
create index invoices_tenant_status on invoices (tenant_id, status, due_date);

create table invoice_lines (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    invoice_id uuid not null,
    position integer not null,
    description text not null check (length(description) between 1 and 1000),
    quantity numeric(12, 3) not null check (quantity > 0 and quantity <= 1000000),
    unit_price numeric(14, 2) not null check (unit_price >= 0 and unit_price <= 100000000),
    tax_rate numeric(5, 2) not null default 0 check (tax_rate >= 0 and tax_rate <= 100),
    net_amount numeric(14, 2) not null,
    foreign key (tenant_id, invoice_id) references invoices (tenant_id, id) on delete cascade
);
create index invoice_lines_invoice on invoice_lines (tenant_id, invoice_id, position);
"""
    + tenant_rls("invoice_counters")
    + tenant_rls("invoices")
    + tenant_rls("invoice_lines")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "invoices", DESCRIPTION, SQL)
