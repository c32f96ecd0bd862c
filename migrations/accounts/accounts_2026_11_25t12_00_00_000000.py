"""Accounts: tenants, users, memberships, invitations, email tokens; grants and RLS."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-11-25T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tenants, users, memberships, invitations, email tokens"

SQL = (
    """
alter default privileges for role odex_owner in schema public
    grant select, insert, update, delete on tables to odex_app;
alter default privileges for role odex_owner in schema public
    grant usage, select on sequences to odex_app;

create table tenants (
    id uuid primary key,
    name text not null check (length(name) between 1 and 200),
    status text not null default 'active' check (status in ('active', 'deleting')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- Global: a person's login identity exists before and across workspaces (looked up by email
-- at login); it holds account data only, never CRM data.
create table users (
    id uuid primary key,
    email text not null check (length(email) between 3 and 254),
    name text not null check (length(name) between 1 and 200),
    password_hash text not null,
    email_verified_at timestamptz,
    is_staff boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));

create table memberships (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    role text not null check (role in ('owner', 'admin', 'member')),
    created_at timestamptz not null default now(),
    unique (tenant_id, user_id)
);
-- Serves the own-memberships policy below (a user listing their workspaces).
create index memberships_user_id on memberships (user_id);

create table invitations (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    email text not null check (length(email) between 3 and 254),
    role text not null check (role in ('owner', 'admin', 'member')),
    invited_by uuid references users (id) on delete set null,
    expires_at timestamptz not null,
    accepted_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now()
);
create unique index invitations_open_email on invitations (tenant_id, lower(email))
    where accepted_at is null and revoked_at is null;

-- Global: single-use tokens mailed to an address (verify, reset, invite) are redeemed by a
-- visitor who has no workspace yet; only SHA-256 hashes are stored.
create table email_tokens (
    token_hash text primary key,
    purpose text not null check (purpose in ('verify', 'reset', 'invite')),
    user_id uuid references users (id) on delete cascade,
    -- the workspace an invitation opens: a pointer, the row belongs to the invited address
    target_tenant_id uuid references tenants (id) on delete cascade,
    ref_id uuid,
    email text not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);
create index email_tokens_user on email_tokens (user_id);
"""
    + tenant_rls("tenants", "id = (select nullif(current_setting('app.tenant_id', true), ''))::uuid")
    + tenant_rls("memberships")
    + """
create policy own_memberships on memberships for select
    using (user_id = (select nullif(current_setting('app.user_id', true), ''))::uuid);
"""
    + tenant_rls("invitations")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "accounts", DESCRIPTION, SQL)
