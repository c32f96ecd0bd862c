"""CRM records: search, activity timeline, notes, tasks and CSV imports (all tenant data, RLS)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-11-25T12:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "crm search, activities, notes, tasks, imports"

SQL = (
    """
-- lower-cased names, title, emails and phones, kept by a trigger whoever writes the row (an
-- array joined into text is not immutable, so it can't be a generated column). Searched with
-- LIKE: under RLS a non-LEAKPROOF operator such as LIKE can't drive an index scan, so the
-- search filters the tenant's rows (tens of ms at 100k contacts); a trigram index would go
-- unused.
alter table contacts add column search_text text not null default '';
create function contacts_search_text() returns trigger
language plpgsql set search_path = pg_catalog as $$
begin
    new.search_text := lower(concat_ws(' ', new.first_name, new.last_name, new.title,
        array_to_string(new.emails, ' '), array_to_string(new.phones, ' ')));
    return new;
end
$$;
create trigger contacts_search_text
    before insert or update of first_name, last_name, title, emails, phones, search_text
    on contacts for each row execute function contacts_search_text();

-- sort keys as plain columns: keyset pagination compares (sort_last, sort_first, id) with
-- leakproof operators only, which RLS lets the planner use as index conditions (a condition
-- on lower(last_name) would be filtered row by row instead, getting slower on every page)
alter table contacts add column sort_last text generated always as (lower(last_name)) stored;
alter table contacts add column sort_first text generated always as (lower(first_name)) stored;
create index contacts_tenant_sort on contacts (tenant_id, sort_last, sort_first, id);
alter table companies add column sort_name text generated always as (lower(name)) stored;
create index companies_tenant_sort on companies (tenant_id, sort_name, id);
create index companies_tenant_owner on companies (tenant_id, owner_id);
create index contacts_tenant_owner on contacts (tenant_id, owner_id);

-- who changed what and when, per record; append-only for the app
create table activities (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    subject_type text not null check (subject_type in ('contact', 'company', 'deal', 'invoice')),
    subject_id uuid not null,
    actor_id uuid references users (id) on delete set null,
    action text not null check (length(action) between 1 and 50),
    summary text not null default '' check (length(summary) <= 500),
    changes jsonb not null default '{}',
    created_at timestamptz not null default now()
);
create index activities_subject on activities (tenant_id, subject_type, subject_id, created_at desc);
revoke update, delete on activities from odex_app;

create table notes (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    subject_type text not null check (subject_type in ('contact', 'company', 'deal')),
    subject_id uuid not null,
    author_id uuid references users (id) on delete set null,
    body text not null check (length(body) between 1 and 10000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index notes_subject on notes (tenant_id, subject_type, subject_id, created_at desc);

create table tasks (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    subject_type text not null check (subject_type in ('contact', 'company', 'deal')),
    subject_id uuid not null,
    title text not null check (length(title) between 1 and 300),
    due_date date,
    assignee_id uuid references users (id) on delete set null,
    created_by uuid references users (id) on delete set null,
    done_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index tasks_subject on tasks (tenant_id, subject_type, subject_id, created_at desc);
create index tasks_open_by_assignee on tasks (tenant_id, assignee_id, due_date, id)
    where done_at is null;

-- CSV imports: the upload, its column mapping and the job's progress (rows_done lets a
-- re-run continue where the last one stopped)
create table crm_imports (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    user_id uuid references users (id) on delete set null,
    kind text not null check (kind in ('contacts', 'companies')),
    filename text not null check (length(filename) <= 300),
    encoding text not null default 'utf-8',
    delimiter text not null default ',' check (length(delimiter) = 1),
    headers text[] not null default '{}',
    mapping jsonb not null default '{}',
    status text not null default 'uploaded'
        check (status in ('uploaded', 'queued', 'running', 'done', 'failed')),
    total_rows integer not null default 0,
    rows_done integer not null default 0,
    rows_ok integer not null default 0,
    rows_failed integer not null default 0,
    error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index crm_imports_tenant on crm_imports (tenant_id, created_at desc);

create table crm_import_errors (
    tenant_id uuid not null references tenants (id) on delete cascade,
    import_id uuid not null references crm_imports (id) on delete cascade,
    row_number integer not null,
    reason text not null,
    raw text[] not null default '{}',
    primary key (tenant_id, import_id, row_number)
);
"""
    + tenant_rls("activities")
    + tenant_rls("notes")
    + tenant_rls("tasks")
    + tenant_rls("crm_imports")
    + tenant_rls("crm_import_errors")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
