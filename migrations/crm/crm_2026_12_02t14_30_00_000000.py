"""Saved views: a member's named filters, order and search of a list (contacts, companies,
deals), kept as the list's query string; private, or shared with the workspace. A tenant
table (RLS forced); the author's account deletion takes their views with it (cascade)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-02T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "saved views of the contact, company and deal lists"

SQL = (
    """
create table saved_views (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    kind text not null check (kind in ('contacts', 'companies', 'deals')),
    name text not null check (length(name) between 1 and 100),
    query text not null check (length(query) <= 4000),
    shared boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
-- the views above a list: the workspace's shared ones and the member's own, by name
create index saved_views_list on saved_views (tenant_id, kind, lower(name));
grant select, insert, update, delete on saved_views to odex_app;
"""
    + tenant_rls("saved_views")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
