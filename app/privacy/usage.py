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
from uuid import UUID

import asyncpg
import msgspec

from app.accounts.tables import Membership, User
from app.core.db import global_transaction, tenant_transaction, user_transaction
from app.core.redis import redis
from app.privacy.queries import (
    Tally,
    delete_older,
    insert_usage_events,
    insert_visitor_events,
    usage_breakdown,
)
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

    category: str  # analytics | security
    kind: str  # page | feature | login | login_failed | logout | signup | password_reset
    id: str = msgspec.field(default_factory=lambda: str(uuid.uuid4()))
    ts: float = msgspec.field(default_factory=lambda: datetime.now(UTC).timestamp())
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


async def enqueue(events: list[Event]) -> None:
    """Queue events for the flush job (one Redis round trip; never touches PostgreSQL)."""
    if events:
        await redis().rpush(QUEUE_KEY, *[_encoder.encode(e) for e in events])  # type: ignore[misc]


def _columns(events: list[Event]) -> list[list[object]]:
    """The events as the arrays queries.insert_usage_events and insert_visitor_events take."""
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
        await insert_usage_events(conn, tenant_id, users, _columns(events))


async def _insert_visitors(events: list[Event]) -> None:
    async with global_transaction() as conn:
        await insert_visitor_events(conn, _columns(events))


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


async def flush_usage_events(ctx: dict[str, object] | None = None) -> int:
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
        async with global_transaction():
            ids = await User.select(User.id).where(User.id > cursor).order_by(User.id).limit(500)
        if not ids:
            return sorted(found)
        for row in ids:
            cursor = row["id"]
            async with user_transaction(cursor):
                for m in await Membership.select(Membership.tenant_id).where(
                    Membership.user_id == cursor
                ):
                    found.add(m["tenant_id"])


async def purge_expired_usage(ctx: dict[str, object] | None = None, *, force: bool = False) -> int:
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
    transaction: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]],
    table: str,
    cutoff: datetime,
) -> int:
    """Delete `table`'s rows older than `cutoff`, PURGE_BATCH rows a transaction."""
    deleted = 0
    while True:
        async with transaction() as conn:
            count = await delete_older(conn, table, cutoff, PURGE_BATCH)
        deleted += count
        if count < PURGE_BATCH:
            return deleted


async def dashboard(tenant_id: UUID, days: int = 30) -> dict[str, object]:
    """The admin usage dashboard's figures for one workspace (last `days` days)."""
    since = datetime.now(UTC) - timedelta(days=days)
    async with tenant_transaction(tenant_id) as conn:
        figures = await usage_breakdown(conn, since)

    def series(rows: list[Tally]) -> dict[str, list[str] | list[int]]:
        return {"labels": [r.label for r in rows], "values": [r.n for r in rows]}

    return {
        "days": days,
        "active": {
            "labels": [day.isoformat() for day, _ in figures.active],
            "values": [n for _, n in figures.active],
        },
        "pages": series(figures.pages),
        "features": series(figures.features),
        "browsers": series(figures.browsers),
        "devices": series(figures.devices),
        "security": series(figures.security),
    }
