"""Security: MFA, recovery codes, known devices, tenant security settings, audit chain, alerts."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-11-25T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "mfa, known devices, audit log chain, security alerts"

SQL = (
    """
-- Global: MFA belongs to the login identity and is checked before a workspace is chosen.
-- The TOTP secret is AES-256-GCM ciphertext (app/core/crypto.py).
create table user_mfa (
    user_id uuid primary key references users (id) on delete cascade,
    secret_enc text not null,
    enabled_at timestamptz,
    last_step bigint not null default 0,
    created_at timestamptz not null default now()
);

-- Global: single-use recovery codes of a login identity; only keyed hashes (HMAC) are stored.
create table mfa_recovery_codes (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    code_hash text not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);
create index mfa_recovery_codes_user on mfa_recovery_codes (user_id);

-- Global: devices a login identity has signed in from (HMAC of browser family + IP), so a
-- login from a new one raises an alert in every workspace of the user.
create table known_devices (
    user_id uuid not null references users (id) on delete cascade,
    device_hash text not null,
    label text not null default '',
    first_seen timestamptz not null default now(),
    last_seen timestamptz not null default now(),
    primary key (user_id, device_hash)
);

create table tenant_security (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    mfa_required_for_owners boolean not null default false,
    updated_at timestamptz not null default now()
);

-- Append-only, hash-chained per tenant. No foreign key on actor_id: deleting a user must not
-- rewrite (and so break) the chain.
create table audit_log (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    seq bigint not null,
    created_at timestamptz not null,
    actor_id uuid,
    actor_label text not null default '',
    action text not null,
    target text not null default '',
    details jsonb not null default '{}',
    prev_hash text not null,
    hash text not null,
    unique (tenant_id, seq)
);
create index audit_log_recent on audit_log (tenant_id, created_at desc);
create index audit_log_action on audit_log (tenant_id, action, created_at desc);
revoke update, delete, truncate on audit_log from odex_app;

-- The head of each tenant's chain: locked FOR UPDATE to serialise appends, and compared by
-- the verifier so that cutting entries off the end shows.
create table audit_chain_heads (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    seq bigint not null default 0,
    hash text not null default ''
);
revoke delete, truncate on audit_chain_heads from odex_app;

create table security_alerts (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    kind text not null,
    actor_id uuid,
    subject_user_id uuid,
    summary text not null,
    details jsonb not null default '{}',
    session_key text,
    created_at timestamptz not null default now(),
    acknowledged_at timestamptz,
    acknowledged_by uuid,
    session_revoked_at timestamptz
);
create index security_alerts_recent on security_alerts (tenant_id, created_at desc);

-- Platform jobs (key rotation, sweeps) must visit every tenant while RLS hides the tenants
-- table from odex_app: a tiny SECURITY DEFINER function that returns ids only. It runs as
-- odex_owner, whom FORCE ROW LEVEL SECURITY also binds, hence the owner-only read policy.
create policy platform_owner_reads_ids on tenants for select to odex_owner using (true);
create schema if not exists odex_private;
revoke all on schema odex_private from public;
grant usage on schema odex_private to odex_app;
create or replace function odex_private.tenant_ids() returns setof uuid
    language sql stable security definer set search_path = ''
    as 'select id from public.tenants order by id';
revoke all on function odex_private.tenant_ids() from public;
grant execute on function odex_private.tenant_ids() to odex_app;
"""
    + tenant_rls("tenant_security")
    + tenant_rls("audit_log")
    + tenant_rls("audit_chain_heads")
    + tenant_rls("security_alerts")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "security", DESCRIPTION, SQL)
