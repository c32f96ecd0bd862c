"""Privacy: consent ledger, usage events, exports, deletion records, policy versions."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-11-25T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "consents, usage events, exports, deletions, policy versions and notices"

SQL = (
    """
-- Global: cookie consent belongs to a person or an anonymous browser, not to a workspace. It is
-- given on the login page before any workspace exists, and a signed-in user's choice covers
-- every workspace they belong to. No CRM data. Append-only (proof of consent, GDPR Art. 7(1)):
-- no FK to users, so the proof outlives the account.
create table consents (
    id bigserial primary key,
    user_id uuid,
    visitor_id text check (length(visitor_id) <= 64),
    purpose text not null check (purpose in ('analytics')),
    granted boolean not null,
    policy_version integer not null,
    source text not null check (source in ('banner', 'preferences', 'settings')),
    page text not null default '' check (length(page) <= 300),
    ip text not null default '' check (length(ip) <= 64),
    user_agent text not null default '' check (length(user_agent) <= 300),
    created_at timestamptz not null default now(),
    check (user_id is not null or visitor_id is not null)
);
create index consents_user on consents (user_id, purpose, id desc) where user_id is not null;
create index consents_visitor on consents (visitor_id, purpose, id desc)
    where visitor_id is not null;
revoke update, delete, truncate on consents from odex_app;

create table usage_events (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    user_id uuid references users (id) on delete cascade,
    category text not null check (category in ('analytics', 'security')),
    kind text not null check (length(kind) <= 40),
    path text not null default '' check (length(path) <= 300),
    feature text not null default '' check (length(feature) <= 300),
    browser text not null default '',
    os text not null default '',
    device text not null default '',
    ip text not null default '',
    analytics_id text,
    created_at timestamptz not null
);
create index usage_events_tenant_time on usage_events (tenant_id, created_at);
create index usage_events_tenant_user on usage_events (tenant_id, user_id, created_at);

-- Global: events of visitors who are not signed in to any workspace (consented analytics on
-- public pages; security events such as failed logins, whose account is unknown). No CRM data.
create table visitor_events (
    id uuid primary key,
    category text not null check (category in ('analytics', 'security')),
    kind text not null check (length(kind) <= 40),
    path text not null default '' check (length(path) <= 300),
    feature text not null default '' check (length(feature) <= 300),
    browser text not null default '',
    os text not null default '',
    device text not null default '',
    ip text not null default '',
    analytics_id text,
    created_at timestamptz not null
);
create index visitor_events_time on visitor_events (created_at);

create table exports (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    status text not null default 'queued'
        check (status in ('queued', 'running', 'ready', 'failed')),
    progress integer not null default 0 check (progress between 0 and 100),
    current_file text not null default '',
    bom boolean not null default false,
    file_name text,
    size_bytes bigint,
    manifest jsonb,
    error text,
    created_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    expires_at timestamptz
);
create index exports_tenant_user on exports (tenant_id, user_id, created_at desc);

-- Global: the deletion record must outlive the workspace it records (so no FK to tenants and
-- no tenant_id: after the purge nothing of the tenant is left but this minimal row). It holds
-- ids, dates and counts; the mail address is cleared when the purge completes.
create table deletion_requests (
    id uuid primary key,
    scope text not null check (scope in ('account', 'workspace')),
    workspace_id uuid,
    subject_user_id uuid,
    notify_email text,
    status text not null default 'scheduled'
        check (status in ('scheduled', 'cancelled', 'purging', 'completed')),
    requested_at timestamptz not null default now(),
    due_at timestamptz not null,
    reminder_sent_at timestamptz,
    cancelled_at timestamptz,
    started_at timestamptz,
    completed_at timestamptz,
    rows_deleted bigint not null default 0,
    progress jsonb not null default '{}',
    check (scope = 'account' or workspace_id is not null)
);
create unique index deletion_requests_open_workspace on deletion_requests (workspace_id)
    where scope = 'workspace' and status in ('scheduled', 'purging');
create unique index deletion_requests_open_account on deletion_requests (subject_user_id)
    where scope = 'account' and status in ('scheduled', 'purging');
create index deletion_requests_due on deletion_requests (due_at)
    where status in ('scheduled', 'purging');

-- Global: the policy is the platform's, the same for every workspace.
create table policy_versions (
    version integer primary key check (version >= 1),
    summary text not null check (length(summary) between 1 and 2000),
    body_md text,
    published_at timestamptz not null default now(),
    effective_at timestamptz not null,
    published_by uuid references users (id) on delete set null,
    notified_at timestamptz,
    constraint policy_notice_30_days check (effective_at >= published_at + interval '30 days')
);
insert into policy_versions (version, summary, published_at, effective_at)
values (1, 'First version of the Odex CRM privacy policy.',
        '2025-12-01T00:00:00Z', '2026-01-01T00:00:00Z');

-- Publication time is the database's clock, so a notice period cannot be faked by backdating.
create function policy_versions_stamp() returns trigger language plpgsql as $$
begin
    new.published_at := now();
    return new;
end $$;
create trigger policy_versions_stamp before insert on policy_versions
    for each row execute function policy_versions_stamp();
revoke update, delete, truncate on policy_versions from odex_app;
grant update (notified_at) on policy_versions to odex_app;

-- Global: exactly one notice per user per version (the unique key is the guarantee).
create table policy_notices (
    version integer not null references policy_versions (version),
    user_id uuid not null references users (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (version, user_id)
);

-- Global: a user's acknowledgement of a version (per person, not per workspace).
create table policy_acks (
    user_id uuid not null references users (id) on delete cascade,
    version integer not null references policy_versions (version),
    acknowledged_at timestamptz not null default now(),
    primary key (user_id, version)
);
"""
    + tenant_rls("usage_events")
    + tenant_rls("exports")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "privacy", DESCRIPTION, SQL)
