"""Custom fields: a workspace's own fields on contacts, companies and deals (admins define them
here; the values live in each record's `custom_values`, keyed by the field's id). A tenant
table (RLS forced). Archiving a field hides its values without deleting them."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-03T07:50:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "custom fields of contacts, companies and deals"

SQL = """
create table custom_fields (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    object_kind text not null check (object_kind in ('contact', 'company', 'deal')),
    key text not null check (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    label text not null check (length(label) between 1 and 100),
    field_type text not null check (field_type in ('text', 'number', 'money', 'date', 'select',
        'multi_select', 'checkbox', 'url', 'user')),
    options jsonb not null default '[]',
    required boolean not null default false,
    personal boolean not null default false,
    position integer not null default 0,
    archived_at timestamptz,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
-- a key names one field of a kind in a workspace (the API's `custom` object uses it)
create unique index custom_fields_key on custom_fields (tenant_id, object_kind, key);
create index custom_fields_order on custom_fields (tenant_id, object_kind, position);
grant select, insert, update, delete on custom_fields to odex_app;
alter table contacts add column custom_values jsonb not null default '{}';
alter table companies add column custom_values jsonb not null default '{}';
""" + tenant_rls("custom_fields")


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
