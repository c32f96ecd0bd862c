"""API tokens: per membership, scoped, expiring, revocable; stored only as keyed hashes."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-02T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api tokens"

SQL = (
    """
-- Tenant: a token belongs to one membership (one person in one workspace). Removing the
-- member deletes their tokens with the membership (cascade); deleting the account, with the user.
create table api_tokens (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    membership_id uuid not null references memberships (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    name text not null check (length(name) between 1 and 100),
    token_hash text not null,
    hint text not null check (length(hint) <= 8),
    scopes text[] not null default '{}',
    rate_per_minute integer not null default 600 check (rate_per_minute between 1 and 10000),
    expires_at timestamptz not null,
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now()
);
create unique index api_tokens_hash on api_tokens (tenant_id, token_hash);
create index api_tokens_of_user on api_tokens (tenant_id, user_id, created_at desc);
create index api_tokens_membership on api_tokens (tenant_id, membership_id);
"""
    + tenant_rls("api_tokens")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "api", DESCRIPTION, SQL)
