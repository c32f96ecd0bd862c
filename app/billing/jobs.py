"""arq jobs: apply stored Stripe events (at least once, each applied exactly once)."""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

from arq import cron, func

from app.billing import stripe_client
from app.billing.events import HANDLED, apply_event, customer_of, subscription_of, tenant_hint
from app.billing.state import lock_account
from app.core.db import global_transaction, tenant_transaction

log = logging.getLogger("odex.billing")
STRIPE_JOB_TIMEOUT = 60  # a few Stripe calls; a killed worker's job runs again after this + 10 s
RECOVER_AFTER_SECONDS = 120


async def _resolve_tenant(obj: dict[str, Any]) -> UUID | None:
    """The tenant an event is about, from the metadata we put on Stripe's objects (the
    subscription's, re-read from Stripe, when the object itself carries none)."""
    hint = tenant_hint(obj)
    if not hint:
        sub_id = obj.get("id") if obj.get("object") == "subscription" else subscription_of(obj)
        sub = await stripe_client.retrieve_subscription(str(sub_id)) if sub_id else None
        hint = tenant_hint(sub) if sub else None
    try:
        return UUID(hint) if hint else None
    except ValueError:
        return None


async def _finish(event_id: str, outcome: str) -> None:
    async with global_transaction() as conn:
        await conn.execute(
            "update stripe_events set processed_at = now(), outcome = $2"
            " where id = $1 and processed_at is null",
            event_id,
            outcome,
        )


async def apply_stripe_event(ctx: dict[str, Any], event_id: str) -> str:
    """Apply one stored event. The event row is locked and marked processed in the same
    transaction as the change, so a crash mid-event leaves it unprocessed, to run again once."""
    async with global_transaction() as conn:
        row = await conn.fetchrow(
            "select type, payload, processed_at from stripe_events where id = $1", event_id
        )
    if row is None or row["processed_at"] is not None:
        return "already processed"
    if row["type"] not in HANDLED:
        await _finish(event_id, "ignored: not a billing event we use")
        return "ignored"
    payload = json.loads(row["payload"])
    obj = (payload.get("data") or {}).get("object") or {}
    tenant_id = await _resolve_tenant(obj)
    if tenant_id is None:
        log.warning("stripe event %s names no workspace of ours", event_id)
        await _finish(event_id, "ignored: unknown workspace")
        return "ignored"
    async with tenant_transaction(tenant_id) as conn:
        done = await conn.fetchval(
            "select processed_at is not null from stripe_events where id = $1 for update",
            event_id,
        )
        if done:
            return "already processed"
        if not await conn.fetchval("select 1 from tenants"):
            outcome = "ignored: workspace deleted"
        else:
            state = await lock_account(conn, tenant_id)
            customer = customer_of(obj)
            if customer and state.stripe_customer_id != customer:
                # only the customer we created for this workspace may change its plan
                outcome = "ignored: customer is not this workspace's"
            else:
                outcome = await apply_event(conn, state, payload)
        await conn.execute(
            "update stripe_events set processed_at = now(), outcome = $2 where id = $1",
            event_id,
            outcome,
        )
    return outcome


async def recover_stripe_events(
    ctx: dict[str, Any], older_than_seconds: int = RECOVER_AFTER_SECONDS
) -> int:
    """Apply events left unprocessed (a worker died, an enqueue was lost); cron, every minute."""
    async with global_transaction() as conn:
        rows = await conn.fetch(
            "select id from stripe_events where processed_at is null"
            " and received_at < now() - make_interval(secs => $1) order by created, received_at"
            " limit 200",
            older_than_seconds,
        )
    for row in rows:
        await apply_stripe_event(ctx, row["id"])
    return len(rows)


BILLING_FUNCTIONS = [func(apply_stripe_event, timeout=STRIPE_JOB_TIMEOUT)]
BILLING_CRON = cron(recover_stripe_events, second={30}, run_at_startup=True)
