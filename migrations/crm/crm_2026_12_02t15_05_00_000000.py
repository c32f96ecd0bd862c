"""Bulk changes of the contact and company lists: what one bulk action changed (each record's
previous owner or tags and the version it left the record at), kept for its undo. A tenant
table (RLS forced); the actor's account deletion clears the actor."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-02T15:05:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "bulk changes of the contact and company lists, for their undo"

SQL = """
create table bulk_changes (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    user_id uuid references users (id) on delete set null,
    kind text not null check (kind in ('contacts', 'companies')),
    action text not null check (action in ('owner', 'add_tag', 'remove_tag', 'delete')),
    summary text not null check (length(summary) <= 500),
    previous jsonb not null default '[]',
    created_at timestamptz not null default now(),
    undone_at timestamptz
);
-- a workspace's recent bulk changes, newest first
create index bulk_changes_recent on bulk_changes (tenant_id, created_at desc);
grant select, insert, update, delete on bulk_changes to odex_app;
""" + tenant_rls("bulk_changes")


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
