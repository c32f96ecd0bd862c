"""Billing: the tenant's plan and subscription, its invoices, and received Stripe events."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-11-25T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "billing accounts, invoices and stripe events"

SQL = (
    """
create table billing_accounts (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    plan text not null default 'free' check (plan in ('free', 'pro', 'business')),
    status text not null default 'none' check (length(status) <= 40),
    stripe_customer_id text check (length(stripe_customer_id) <= 255),
    stripe_subscription_id text check (length(stripe_subscription_id) <= 255),
    stripe_price_id text check (length(stripe_price_id) <= 255),
    subscription_created bigint,
    current_period_end timestamptz,
    cancel_at_period_end boolean not null default false,
    trial_end timestamptz,
    grace_until timestamptz,
    state_at bigint not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table billing_invoices (
    tenant_id uuid not null references tenants (id) on delete cascade,
    stripe_invoice_id text not null check (length(stripe_invoice_id) <= 255),
    number text check (length(number) <= 100),
    status text not null check (length(status) <= 40),
    amount_due bigint not null default 0,
    amount_paid bigint not null default 0,
    currency text not null default 'usd' check (length(currency) <= 10),
    hosted_invoice_url text check (length(hosted_invoice_url) <= 2000),
    invoice_created timestamptz,
    updated_at timestamptz not null default now(),
    primary key (tenant_id, stripe_invoice_id)
);
create index billing_invoices_tenant_created on billing_invoices (tenant_id, invoice_created desc);

-- global: a verified webhook is stored before its tenant is known (that is found from our
-- metadata on Stripe's objects); the id is Stripe's. Payloads are scrubbed when a workspace
-- is deleted (no delete: the ids stay, so a redelivery is still recognised).
create table stripe_events (
    id text primary key check (length(id) <= 255),
    type text not null check (length(type) <= 100),
    created bigint not null,
    livemode boolean not null default false,
    payload jsonb not null,
    received_at timestamptz not null default now(),
    processed_at timestamptz,
    outcome text check (length(outcome) <= 200)
);
create index stripe_events_unprocessed on stripe_events (received_at) where processed_at is null;
create index stripe_events_customer on stripe_events ((payload -> 'data' -> 'object' ->> 'customer'));
revoke delete on stripe_events from odex_app;
"""
    + tenant_rls("billing_accounts")
    + tenant_rls("billing_invoices")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "billing", DESCRIPTION, SQL)
