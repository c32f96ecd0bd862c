"""The webhooks' SQL as named typed functions: the records an event describes, the delivery
queue (locks, the per-record chain, the sweep) and the delivery log. Inside a tenant
transaction (RLS); every statement names the tenant too, so the indexes lead with it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import maybe_row_as, rows_as


class Hook(msgspec.Struct):
    """A subscription as the settings page lists it (never its secret)."""

    id: UUID
    url: str
    events: list[str]
    scopes: list[str]
    personal_data: bool
    description: str
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    consecutive_failures: int
    failing_since: datetime | None
    last_success_at: datetime | None
    created_at: datetime
    version: int
    previous_secret_until: datetime | None  # the replaced secret still signs until then


class DeliveryRow(msgspec.Struct):
    """A delivery as its log shows it."""

    id: UUID
    subscription_id: UUID
    seq: int
    event_id: UUID
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    response_status: int | None
    latency_ms: int | None
    response_excerpt: str | None
    error: str | None
    redelivery_of: UUID | None
    created_at: datetime
    finished_at: datetime | None


class Sending(msgspec.Struct):
    """A locked pending delivery with what sending it needs."""

    id: UUID
    tenant_id: UUID
    subscription_id: UUID
    seq: int
    event: str
    order_key: str
    payload: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    url: str
    secret_enc: str
    previous_secret_enc: str | None  # only while the rotation's overlap lasts
    enabled: bool
    due: bool


HOOK_COLUMNS = (
    "id, url, events, scopes, personal_data, description, enabled, disabled_at,"
    " disabled_reason, consecutive_failures, failing_since, last_success_at, created_at, version,"
    " case when previous_secret_until > now() then previous_secret_until end"
    " as previous_secret_until"
)


async def hooks(conn: asyncpg.Connection, tenant_id: UUID) -> list[Hook]:
    rows = await conn.fetch(
        f"select {HOOK_COLUMNS} from webhook_subscriptions where tenant_id = $1"
        " order by created_at, id",
        tenant_id,
    )
    return rows_as(Hook, rows)


async def hook(conn: asyncpg.Connection, tenant_id: UUID, hook_id: UUID) -> Hook | None:
    row = await conn.fetchrow(
        f"select {HOOK_COLUMNS} from webhook_subscriptions where tenant_id = $1 and id = $2",
        tenant_id,
        hook_id,
    )
    return maybe_row_as(Hook, row)


class Wanting(msgspec.Struct):
    """A subscription an event goes to, with what it may read."""

    id: UUID
    scopes: list[str]
    personal_data: bool


async def hooks_wanting(
    conn: asyncpg.Connection, tenant_id: UUID, event: str, scope: str
) -> list[Wanting]:
    """The enabled subscriptions of the workspace that chose `event` and may read its object
    (`scope`): an event outside a subscription's scopes is never delivered."""
    rows = await conn.fetch(
        "select id, scopes, personal_data from webhook_subscriptions"
        " where tenant_id = $1 and enabled and $2 = any(events) and $3 = any(scopes)"
        " order by id",
        tenant_id,
        event,
        scope,
    )
    return rows_as(Wanting, rows)


async def record(conn: asyncpg.Connection, kind: str, record_id: UUID) -> asyncpg.Record | None:
    """The row an event describes (a deal with its stage's name), or None once deleted."""
    sql = {
        "contact": "select * from contacts where id = $1",
        "company": "select * from companies where id = $1",
        "deal": "select d.*, s.name as stage_name from deals d"
        " join stages s on s.id = d.stage_id and s.tenant_id = d.tenant_id where d.id = $1",
        "invoice": "select * from invoices where id = $1",
    }[kind]
    return await conn.fetchrow(sql, record_id)


async def deal_contacts(conn: asyncpg.Connection, deal_id: UUID) -> list[asyncpg.Record]:
    """The contacts of a deal (rows to open with app.crm.secure.open_contact), by name."""
    return await conn.fetch(
        "select c.id, c.tenant_id, c.first_name, c.last_name, c.emails_enc, c.phones_enc"
        " from deal_contacts dc join contacts c on c.id = dc.contact_id"
        " and c.tenant_id = dc.tenant_id where dc.deal_id = $1"
        " order by c.last_name, c.first_name, c.id",
        deal_id,
    )


async def insert_delivery(
    conn: asyncpg.Connection,
    delivery_id: UUID,
    tenant_id: UUID,
    hook_id: UUID,
    event_id: UUID,
    event: str,
    order_key: str,
    payload: str,
    redelivery_of: UUID | None = None,
) -> None:
    await conn.execute(
        "insert into webhook_deliveries"
        " (id, tenant_id, subscription_id, event_id, event, order_key, payload, redelivery_of)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8)",
        delivery_id,
        tenant_id,
        hook_id,
        event_id,
        event,
        order_key,
        payload,
        redelivery_of,
    )


async def lock_pending(
    conn: asyncpg.Connection, tenant_id: UUID, delivery_id: UUID
) -> Sending | None:
    """The delivery, locked, if still pending (a second job for it waits for the first, then
    finds it done)."""
    row = await conn.fetchrow(
        "select d.id, d.tenant_id, d.subscription_id, d.seq, d.event, d.order_key, d.payload,"
        " d.attempts, d.next_attempt_at, d.created_at, s.url, s.secret_enc,"
        " case when s.previous_secret_until > now() then s.previous_secret_enc end"
        " as previous_secret_enc, s.enabled,"
        " d.next_attempt_at <= now() as due"
        " from webhook_deliveries d join webhook_subscriptions s"
        " on s.id = d.subscription_id and s.tenant_id = d.tenant_id"
        " where d.tenant_id = $1 and d.id = $2 and d.status = 'pending'"
        " for update of d",
        tenant_id,
        delivery_id,
    )
    return maybe_row_as(Sending, row)


async def claim(conn: asyncpg.Connection, delivery_id: UUID, seconds: float) -> None:
    """Mark a locked delivery in flight: not due again for `seconds`."""
    await conn.execute(
        "update webhook_deliveries set next_attempt_at = now() + make_interval(secs => $2)"
        " where id = $1",
        delivery_id,
        seconds,
    )


async def waits_for_earlier(conn: asyncpg.Connection, sending: Sending) -> bool:
    """An earlier delivery of the same record to the same subscription is still pending."""
    return bool(
        await conn.fetchval(
            "select exists (select 1 from webhook_deliveries where tenant_id = $1"
            " and subscription_id = $2 and order_key = $3 and status = 'pending' and seq < $4)",
            sending.tenant_id,
            sending.subscription_id,
            sending.order_key,
            sending.seq,
        )
    )


async def next_in_chain(
    conn: asyncpg.Connection, tenant_id: UUID, hook_id: UUID, order_key: str
) -> UUID | None:
    """The first pending delivery of a record (the one to send now that its elder is done)."""
    return await conn.fetchval(
        "select id from webhook_deliveries where tenant_id = $1 and subscription_id = $2"
        " and order_key = $3 and status = 'pending' order by seq limit 1",
        tenant_id,
        hook_id,
        order_key,
    )


async def record_attempt(
    conn: asyncpg.Connection,
    delivery_id: UUID,
    status: str,
    response_status: int | None,
    latency_ms: int,
    excerpt: str,
    error: str,
    retry_in_seconds: float,
) -> None:
    """Count an attempt: delivered, failed for good, or pending again after a wait."""
    await conn.execute(
        "update webhook_deliveries set status = $2, attempts = attempts + 1,"
        " last_attempt_at = now(), response_status = $3, latency_ms = $4,"
        " response_excerpt = nullif($5, ''), error = nullif($6, ''),"
        " next_attempt_at = now() + make_interval(secs => $7),"
        " finished_at = case when $2 = 'pending' then null else now() end where id = $1",
        delivery_id,
        status,
        response_status,
        latency_ms,
        excerpt[:2000],
        error[:500],
        retry_in_seconds,
    )


class Failing(msgspec.Struct):
    consecutive_failures: int
    failing_for_seconds: float
    enabled: bool
    url: str
    created_by: UUID | None


async def hook_failed(conn: asyncpg.Connection, tenant_id: UUID, hook_id: UUID) -> Failing:
    """Count a failed attempt against the subscription; its failure streak."""
    row = await conn.fetchrow(
        "update webhook_subscriptions set consecutive_failures = consecutive_failures + 1,"
        " failing_since = coalesce(failing_since, now()) where tenant_id = $1 and id = $2"
        " returning consecutive_failures, enabled, url, created_by,"
        " extract(epoch from now() - failing_since)::float8 as failing_for_seconds",
        tenant_id,
        hook_id,
    )
    assert row is not None  # the delivery's row lock keeps its subscription
    return msgspec.convert(dict(row), Failing)


async def disable_hook(
    conn: asyncpg.Connection, tenant_id: UUID, hook_id: UUID, why: str
) -> tuple[str, int] | None:
    """Turn the subscription off and give up its pending deliveries: its url and how many
    were pending, or None when there is no such subscription."""
    url = await conn.fetchval(
        "update webhook_subscriptions set enabled = false, disabled_at = now(),"
        " disabled_reason = $3, updated_at = now(), version = version + 1"
        " where tenant_id = $1 and id = $2 returning url",
        tenant_id,
        hook_id,
        why[:500],
    )
    if url is None:
        return None
    status = await conn.execute(
        "update webhook_deliveries set status = 'failed', finished_at = now(),"
        " error = coalesce(error, '') || ' (subscription turned off)'"
        " where tenant_id = $1 and subscription_id = $2 and status = 'pending'",
        tenant_id,
        hook_id,
    )
    return str(url), int(status.split()[-1])


async def enable_hook(conn: asyncpg.Connection, tenant_id: UUID, hook_id: UUID) -> str | None:
    """Turn a subscription on again (its failure streak starts over); its url, or None."""
    return await conn.fetchval(
        "update webhook_subscriptions set enabled = true, consecutive_failures = 0,"
        " failing_since = null, disabled_at = null, disabled_reason = null,"
        " version = version + 1, updated_at = now() where tenant_id = $1 and id = $2"
        " returning url",
        tenant_id,
        hook_id,
    )


async def due_everywhere(conn: asyncpg.Connection, limit: int) -> list[tuple[UUID, UUID]]:
    """(tenant, delivery) of pending deliveries due now in every workspace, elders first
    (odex_private.due_webhook_deliveries: ids only; a first attempt counts after a minute)."""
    rows = await conn.fetch(
        "select tenant_id, delivery_id from odex_private.due_webhook_deliveries($1)", limit
    )
    return [(r["tenant_id"], r["delivery_id"]) for r in rows]


async def deliveries(
    conn: asyncpg.Connection, tenant_id: UUID, hook_id: UUID, before: int | None, limit: int
) -> list[DeliveryRow]:
    """The newest deliveries of a subscription (older than seq `before`)."""
    rows = await conn.fetch(
        "select id, subscription_id, seq, event_id, event, status, attempts, next_attempt_at,"
        " last_attempt_at, response_status, latency_ms, response_excerpt, error,"
        " redelivery_of, created_at, finished_at from webhook_deliveries"
        " where tenant_id = $1 and subscription_id = $2 and ($3::bigint is null or seq < $3)"
        " order by seq desc limit $4",
        tenant_id,
        hook_id,
        before,
        limit,
    )
    return rows_as(DeliveryRow, rows)


class Copy(msgspec.Struct):
    id: UUID
    subscription_id: UUID
    event_id: UUID
    event: str
    order_key: str
    payload: str


async def delivery_to_copy(
    conn: asyncpg.Connection, tenant_id: UUID, hook_id: UUID, delivery_id: UUID
) -> Copy | None:
    row = await conn.fetchrow(
        "select id, subscription_id, event_id, event, order_key, payload"
        " from webhook_deliveries where tenant_id = $1 and subscription_id = $2 and id = $3",
        tenant_id,
        hook_id,
        delivery_id,
    )
    return maybe_row_as(Copy, row)


async def forget_old(conn: asyncpg.Connection, tenant_id: UUID, days: int) -> int:
    """Delete finished deliveries older than `days` (their bodies hold CRM data)."""
    status = await conn.execute(
        "delete from webhook_deliveries where tenant_id = $1 and status <> 'pending'"
        " and created_at < now() - make_interval(days => $2)",
        tenant_id,
        days,
    )
    return int(status.split()[-1])
