"""Bulk changes as background jobs and on deals: a bulk change gets a status, a total and a
count done (its progress page), the action's parameters (for the job to read) and, for an
undo run as a job, the change it undoes; `bulk_items` is a large selection frozen at its start
(one row per record: to do, changed with its previous value and the version it left, or
skipped), so a resumed job never applies a record twice. Both tenant tables (RLS forced)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-03T08:00:00:000000"
VERSION = "1.40.0"
DESCRIPTION = "bulk changes as jobs with progress, on deals too"

SQL = """
alter table bulk_changes drop constraint bulk_changes_kind_check;
alter table bulk_changes add constraint bulk_changes_kind_check
    check (kind in ('contacts', 'companies', 'deals'));
alter table bulk_changes drop constraint bulk_changes_action_check;
alter table bulk_changes add constraint bulk_changes_action_check
    check (action in ('owner', 'add_tag', 'remove_tag', 'delete', 'stage', 'undo'));
alter table bulk_changes
    add column status text not null default 'done'
        check (status in ('queued', 'running', 'done', 'cancelled', 'failed')),
    add column total integer not null default 0,
    add column done integer not null default 0,
    add column params jsonb not null default '{}',
    add column undo_of uuid references bulk_changes (id) on delete cascade,
    add column error text check (length(error) <= 500),
    add column finished_at timestamptz;
create table bulk_items (
    tenant_id uuid not null references tenants (id) on delete cascade,
    change_id uuid not null references bulk_changes (id) on delete cascade,
    record_id uuid not null,
    state text not null default 'todo' check (state in ('todo', 'changed', 'skipped')),
    version integer,
    previous jsonb,
    primary key (tenant_id, change_id, record_id)
);
grant select, insert, update, delete on bulk_items to odex_app;
""" + tenant_rls("bulk_items")


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
