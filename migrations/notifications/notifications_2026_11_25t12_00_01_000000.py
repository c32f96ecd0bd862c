"""Notifications: the mail outbox (global) and the in-app feed (tenant, RLS)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-11-25T12:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox and notifications"

SQL = (
    """
-- Global: the platform's mail queue. Written by services, drained by the mail job; it holds
-- addressed service mail (verification, resets, notices), never CRM records.
create table outbox (
    id bigserial primary key,
    kind text not null,
    to_addr text not null,
    subject text not null,
    body_text text not null,
    body_html text,
    created_at timestamptz not null default now(),
    sent_at timestamptz,
    attempts integer not null default 0,
    last_error text
);
create index outbox_unsent on outbox (id) where sent_at is null;

create table notifications (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    kind text not null,
    title text not null,
    body text not null default '',
    link text,
    read_at timestamptz,
    created_at timestamptz not null default now()
);
create index notifications_feed on notifications (tenant_id, user_id, created_at desc);
"""
    + tenant_rls("notifications")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "notifications", DESCRIPTION, SQL)
