"""Usage data: events queued in Redis by the middleware, flushed in batches, kept N days.

Requests only RPUSH one small JSON document; the `flush_usage_events` job moves batches
atomically to an in-flight list, inserts them (idempotently, by event id) and drops them, so a
worker that dies mid-flush loses nothing: the next run re-inserts the in-flight batch.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from app.core.db import global_transaction, tenant_transaction, user_transaction
from app.core.redis import redis
from app.settings import get_settings

log = logging.getLogger("odex.privacy")

QUEUE_KEY = "privacy:usage:queue"
INFLIGHT_KEY = "privacy:usage:inflight"
LOCK_KEY = "privacy:usage:flush-lock"
DEAD_KEY = "privacy:usage:refused"
BATCH = 1000
PURGE_BATCH = 5000

# Atomically move up to ARGV[1] events from the queue to the in-flight list.
_TAKE = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  redis.call('RPUSH', KEYS[2], unpack(items))
end
return #items
"""


class Event(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One usage or security event as queued (a compact JSON document)."""

    id: str
    category: str  # analytics | security
    kind: str  # page | feature | login | login_failed | logout | signup | password_reset
    ts: float
    tenant_id: str | None = None
    user_id: str | None = None
    path: str = ""
    feature: str = ""
    browser: str = ""
    os: str = ""
    device: str = ""
    ip: str = ""
    analytics_id: str | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def new_event(category: str, kind: str, **fields: Any) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        category=category,
        kind=kind,
        ts=datetime.now(UTC).timestamp(),
        **fields,
    )


async def enqueue(events: list[Event]) -> None:
    """Queue events for the flush job (one Redis round trip; never touches PostgreSQL)."""
    if events:
        await redis().rpush(QUEUE_KEY, *[_encoder.encode(e) for e in events])  # type: ignore[misc]


_COLUMNS = "id, category, kind, path, feature, browser, os, device, ip, analytics_id, created_at"
_UNNEST = (
    "unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "$7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])"
)


def _columns(events: list[Event]) -> list[list[Any]]:
    return [
        [UUID(e.id) for e in events],
        [e.category for e in events],
        [e.kind[:40] for e in events],
        [e.path[:300] for e in events],
        [e.feature[:300] for e in events],
        [e.browser for e in events],
        [e.os for e in events],
        [e.device for e in events],
        [e.ip[:64] for e in events],
        [e.analytics_id for e in events],
        [datetime.fromtimestamp(e.ts, UTC) for e in events],
    ]


async def _insert_tenant(tenant_id: UUID, events: list[Event]) -> None:
    """Insert one workspace's events; rows of a deleted user or workspace are dropped."""
    users = [UUID(e.user_id) if e.user_id else None for e in events]
    async with tenant_transaction(tenant_id) as conn:
        await conn.execute(
            f"insert into usage_events (tenant_id, user_id, {_COLUMNS}) "
            f"select $12, u.user_id, {_COLUMNS} from {_UNNEST} "
            "with ordinality as e(id, category, kind, path, feature, browser, os, device, ip, "
            "analytics_id, created_at, n) "
            "join unnest($13::uuid[]) with ordinality as u(user_id, n) using (n) "
            "where exists (select 1 from tenants t where t.id = $12) "
            "and (u.user_id is null or exists (select 1 from users x where x.id = u.user_id)) "
            "on conflict (id) do nothing",
            *_columns(events),
            tenant_id,
            users,
        )


async def _insert_visitors(events: list[Event]) -> None:
    async with global_transaction() as conn:
        await conn.execute(
            f"insert into visitor_events ({_COLUMNS}) select * from {_UNNEST} "
            "on conflict (id) do nothing",
            *_columns(events),
        )


async def _store(raw: list[bytes]) -> None:
    events = [_decoder.decode(item) for item in raw]
    by_tenant: dict[str | None, list[Event]] = {}
    for event in events:
        by_tenant.setdefault(event.tenant_id, []).append(event)
    for tenant, group in by_tenant.items():
        try:
            if tenant is None:
                await _insert_visitors(group)
            else:
                await _insert_tenant(UUID(tenant), group)
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError):
            # a group PostgreSQL refuses would block the queue for ever: park it for a look
            log.exception("usage events refused; moved to %s", DEAD_KEY)
            await redis().rpush(DEAD_KEY, *[_encoder.encode(e) for e in group])  # type: ignore[misc]


async def flush_usage_events(ctx: dict[str, Any] | None = None) -> int:
    """arq job (and cron): move queued events into PostgreSQL in batches. Returns how many."""
    client = redis()
    if not await client.set(LOCK_KEY, b"1", nx=True, ex=120):
        return 0  # another flush is running
    total = 0
    try:
        while True:
            pending: list[bytes] = await client.lrange(INFLIGHT_KEY, 0, -1)  # type: ignore[misc]
            if not pending:
                moved = await client.eval(_TAKE, 2, QUEUE_KEY, INFLIGHT_KEY, str(BATCH))  # type: ignore[misc]
                if not moved:
                    break
                pending = await client.lrange(INFLIGHT_KEY, 0, -1)  # type: ignore[misc]
            await _store(pending)
            await client.delete(INFLIGHT_KEY)
            total += len(pending)
            await client.expire(LOCK_KEY, 120)
    finally:
        await client.delete(LOCK_KEY)
    return total


async def all_workspace_ids() -> list[UUID]:
    """Every workspace that has a member, found through users and their own memberships.

    The app role cannot list tenants (RLS); platform jobs walk users (global) and read each
    user's memberships under `user_transaction`, the narrow view the policies allow.
    """
    found: set[UUID] = set()
    cursor = UUID(int=0)
    while True:
        async with global_transaction() as conn:
            ids = await conn.fetch(
                "select id from users where id > $1 order by id limit 500", cursor
            )
        if not ids:
            return sorted(found)
        for row in ids:
            cursor = row["id"]
            async with user_transaction(cursor) as conn:
                for m in await conn.fetch(
                    "select tenant_id from memberships where user_id = $1", cursor
                ):
                    found.add(m["tenant_id"])


async def purge_expired_usage(ctx: dict[str, Any] | None = None, *, force: bool = False) -> int:
    """Daily cron: delete usage events older than USAGE_RETENTION_DAYS, in batches.

    Missed cron runs are not caught up by arq, so it runs at startup too and checks itself
    whether today's purge already happened.
    """
    today = datetime.now(UTC).date().isoformat()
    if not force and not await redis().set(
        f"privacy:usage:purged:{today}", b"1", nx=True, ex=2 * 86400
    ):
        return 0
    cutoff = datetime.now(UTC) - timedelta(days=get_settings().usage_retention_days)
    deleted = 0
    for tenant_id in await all_workspace_ids():
        deleted += await _delete_older(
            partial(tenant_transaction, tenant_id), "usage_events", cutoff
        )
    return deleted + await _delete_older(global_transaction, "visitor_events", cutoff)


async def _delete_older(
    transaction: Callable[[], AbstractAsyncContextManager[Any]], table: str, cutoff: datetime
) -> int:
    """Delete `table`'s rows older than `cutoff`, PURGE_BATCH rows a transaction."""
    deleted = 0
    while True:
        async with transaction() as conn:
            status = await conn.execute(
                f"delete from {table} where ctid in (select ctid from {table}"
                " where created_at < $1 limit $2)",
                cutoff,
                PURGE_BATCH,
            )
        count = int(status.split()[-1])
        deleted += count
        if count < PURGE_BATCH:
            return deleted


async def dashboard(tenant_id: UUID, days: int = 30) -> dict[str, Any]:
    """The admin usage dashboard's figures for one workspace (last `days` days)."""
    since = datetime.now(UTC) - timedelta(days=days)
    async with tenant_transaction(tenant_id) as conn:
        active = await conn.fetch(
            "select (created_at at time zone 'UTC')::date as day, count(distinct user_id) as n "
            "from usage_events where created_at >= $1 and user_id is not null "
            "group by day order by day",
            since,
        )
        pages = await conn.fetch(
            "select path as label, count(*) as n from usage_events where created_at >= $1 "
            "and kind = 'page' group by path order by n desc, path limit 10",
            since,
        )
        features = await conn.fetch(
            "select feature as label, count(*) as n from usage_events where created_at >= $1 "
            "and kind = 'feature' group by feature order by n desc, feature limit 10",
            since,
        )
        browsers = await conn.fetch(
            "select browser as label, count(*) as n from usage_events where created_at >= $1 "
            "and category = 'analytics' group by browser order by n desc limit 8",
            since,
        )
        devices = await conn.fetch(
            "select device as label, count(*) as n from usage_events where created_at >= $1 "
            "and category = 'analytics' group by device order by n desc limit 8",
            since,
        )
        security = await conn.fetch(
            "select kind as label, count(*) as n from usage_events where created_at >= $1 "
            "and category = 'security' group by kind order by n desc",
            since,
        )

    def series(rows: list[Any]) -> dict[str, list[Any]]:
        return {"labels": [str(r["label"]) for r in rows], "values": [int(r["n"]) for r in rows]}

    return {
        "days": days,
        "active": {
            "labels": [r["day"].isoformat() for r in active],
            "values": [int(r["n"]) for r in active],
        },
        "pages": series(pages),
        "features": series(features),
        "browsers": series(browsers),
        "devices": series(devices),
        "security": series(security),
    }


async def events_of_user(tenant_id: UUID, user_id: UUID, limit: int = 100) -> dict[str, Any]:
    """The usage events held about a user in this workspace (count and the latest)."""
    async with tenant_transaction(tenant_id) as conn:
        total = await conn.fetchval("select count(*) from usage_events where user_id = $1", user_id)
        rows = await conn.fetch(
            "select created_at, category, kind, path, feature, browser, os, device, ip "
            "from usage_events where user_id = $1 order by created_at desc limit $2",
            user_id,
            limit,
        )
    return {"total": int(total), "latest": [dict(r) for r in rows]}
