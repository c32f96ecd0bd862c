"""Webhooks: a workspace's subscriptions (signed outbound HTTP calls) and their deliveries."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-02T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook subscriptions and deliveries"

SQL = (
    """
-- A workspace's subscription: an HTTPS address told of the chosen events. The signing secret
-- is AES-256-GCM ciphertext bound to the row (app/core/crypto.py), shown once at creation.
create table webhook_subscriptions (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    url text not null check (length(url) between 8 and 2000),
    events text[] not null check (cardinality(events) between 1 and 50),
    description text not null default '' check (length(description) <= 200),
    secret_enc text not null,
    enabled boolean not null default true,
    disabled_at timestamptz,
    disabled_reason text check (length(disabled_reason) <= 500),
    consecutive_failures integer not null default 0,
    failing_since timestamptz,
    last_success_at timestamptz,
    created_by uuid references users (id) on delete set null,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index webhook_subscriptions_tenant on webhook_subscriptions (tenant_id, created_at);

-- One event for one subscription: the exact JSON body sent, and what became of it. Written in
-- the transaction of the change it announces (the outbox pattern), so a crash loses none.
-- `order_key` names the record; deliveries of one record go out in `seq` order.
create table webhook_deliveries (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    subscription_id uuid not null references webhook_subscriptions (id) on delete cascade,
    seq bigserial not null,
    event_id uuid not null,
    event text not null check (length(event) <= 60),
    order_key text not null check (length(order_key) <= 120),
    payload text not null,
    status text not null default 'pending'
        check (status in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_attempt_at timestamptz,
    response_status integer,
    latency_ms integer,
    response_excerpt text check (length(response_excerpt) <= 2000),
    error text check (length(error) <= 500),
    redelivery_of uuid,
    created_at timestamptz not null default now(),
    finished_at timestamptz
);
create index webhook_deliveries_log on webhook_deliveries (tenant_id, subscription_id, seq desc);
create index webhook_deliveries_chain on webhook_deliveries
    (tenant_id, subscription_id, order_key, seq) where status = 'pending';
-- the sweep's: pending deliveries are few (delivered or given up within a day)
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at)
    where status = 'pending';
create index webhook_deliveries_age on webhook_deliveries (tenant_id, created_at);

-- The sweep (every 15 s, app/webhooks/jobs.py) queues the pending deliveries that are due, in
-- every workspace at once: a tiny SECURITY DEFINER function returning ids only (like
-- odex_private.tenant_ids). FORCE ROW LEVEL SECURITY binds its owner too, hence the owner-only
-- read policy, limited to pending rows. A first attempt counts as lost after a minute (its
-- job is queued at commit); a delivery whose elder for the same record is pending waits.
create policy platform_owner_reads_pending on webhook_deliveries for select to odex_owner
    using (status = 'pending');
create or replace function odex_private.due_webhook_deliveries(max_rows integer)
    returns table (tenant_id uuid, delivery_id uuid)
    language sql stable security definer set search_path = ''
    as $$
    select d.tenant_id, d.id from public.webhook_deliveries d
     where d.status = 'pending'
       and d.next_attempt_at < now() - case when d.attempts = 0
           then interval '60 seconds' else interval '0 seconds' end
       and not exists (select 1 from public.webhook_deliveries e
            where e.tenant_id = d.tenant_id and e.subscription_id = d.subscription_id
              and e.order_key = d.order_key and e.status = 'pending' and e.seq < d.seq)
     order by d.next_attempt_at limit max_rows
    $$;
revoke all on function odex_private.due_webhook_deliveries(integer) from public;
grant execute on function odex_private.due_webhook_deliveries(integer) to odex_app;
"""
    + tenant_rls("webhook_subscriptions")
    + tenant_rls("webhook_deliveries")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "webhooks", DESCRIPTION, SQL)
