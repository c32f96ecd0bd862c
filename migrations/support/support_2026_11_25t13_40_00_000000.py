"""Support: tickets and their message threads (global: visitors write, platform staff read)."""

from app.core.migrations import sql_migration

ID = "2026-11-25T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "support tickets and messages"

SQL = """
-- Global: a support inquiry is between a person and the platform's staff, not a workspace.
-- Visitors who are not signed in (locked out, no account yet) write them; only platform staff
-- (users.is_staff) read them, across workspaces. They hold the requester's name, address and
-- message, never CRM records. user_id points at the requester's login when they were signed in.
create table support_tickets (
    id bigserial primary key,
    user_id uuid references users (id) on delete set null,
    name text not null check (length(name) between 1 and 200),
    email text not null check (length(email) between 3 and 254),
    topic text not null
        check (topic in ('general', 'account', 'billing', 'privacy', 'security', 'bug')),
    subject text not null check (length(subject) between 1 and 200),
    status text not null default 'open' check (status in ('open', 'answered', 'closed')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index support_tickets_inbox on support_tickets (status, updated_at desc);
create index support_tickets_user on support_tickets (user_id);
create index support_tickets_email on support_tickets (lower(email));

-- Global with its ticket: the thread (the request, staff replies). Append-only.
create table support_messages (
    id bigserial primary key,
    ticket_id bigint not null references support_tickets (id) on delete cascade,
    author text not null check (author in ('requester', 'staff')),
    staff_user_id uuid references users (id) on delete set null,
    body text not null check (length(body) between 1 and 10000),
    created_at timestamptz not null default now()
);
create index support_messages_thread on support_messages (ticket_id, id);
revoke update, truncate on support_messages from odex_app;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "support", DESCRIPTION, SQL)
