"""Accounts: each person's time zone and locale (how dates, times, numbers and money read),
a workspace's default currency and the exchange rates its admins keep (deal totals)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-02T10:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "user time zone and locale, workspace currency and exchange rates"

SQL = (
    """
alter table users
    add column time_zone text not null default 'UTC' check (length(time_zone) between 1 and 64),
    add column locale text not null default 'en-GB' check (length(locale) between 2 and 16);
alter table tenants
    add column default_currency char(3) not null default 'EUR'
        check (default_currency ~ '^[A-Z]{3}$'),
    add column currency_version integer not null default 1 check (currency_version > 0);

-- one rate per currency: 1 unit of `currency` is `rate` units of the default currency
create table exchange_rates (
    tenant_id uuid not null references tenants (id) on delete cascade,
    currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
    rate numeric(20, 10) not null check (rate > 0 and rate < 1000000000),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, currency)
);
"""
    + tenant_rls("exchange_rates")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "accounts", DESCRIPTION, SQL)
