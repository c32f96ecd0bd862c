"""arq jobs: apply stored Stripe events (at least once, each applied exactly once)."""

from __future__ import annotations

import json
import logging
from uuid import UUID

from arq import cron, func
from piccolo.querystring import QueryString

from app.accounts.tables import Tenant
from app.billing import stripe_client
from app.billing.events import HANDLED, apply_event, customer_of, subscription_of, tenant_hint
from app.billing.queries import stale_unprocessed_events
from app.billing.state import lock_account
from app.billing.stripe_client import StripeObject
from app.billing.tables import StripeEvent
from app.core.db import global_transaction, tenant_transaction

log = logging.getLogger("odex.billing")
STRIPE_JOB_TIMEOUT = 60  # a few Stripe calls; a killed worker's job runs again after this + 10 s
RECOVER_AFTER_SECONDS = 120
NOW = QueryString("now()")


async def _resolve_tenant(obj: StripeObject) -> UUID | None:
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
    async with global_transaction():
        await StripeEvent.update(
            {StripeEvent.processed_at: NOW, StripeEvent.outcome: outcome}
        ).where((StripeEvent.id == event_id) & StripeEvent.processed_at.is_null())


async def apply_stripe_event(ctx: dict[str, object], event_id: str) -> str:
    """Apply one stored event. The event row is locked and marked processed in the same
    transaction as the change, so a crash mid-event leaves it unprocessed, to run again once."""
    async with global_transaction():
        row = await StripeEvent.objects().where(StripeEvent.id == event_id).first()
    if row is None or row.processed_at is not None:
        return "already processed"
    if row.type not in HANDLED:
        await _finish(event_id, "ignored: not a billing event we use")
        return "ignored"
    payload = json.loads(row.payload)
    obj = (payload.get("data") or {}).get("object") or {}
    tenant_id = await _resolve_tenant(obj)
    if tenant_id is None:
        log.warning("stripe event %s names no workspace of ours", event_id)
        await _finish(event_id, "ignored: unknown workspace")
        return "ignored"
    async with tenant_transaction(tenant_id) as conn:
        locked = await (
            StripeEvent.select(StripeEvent.processed_at)
            .where(StripeEvent.id == event_id)
            .lock_rows("UPDATE")
            .first()
        )
        if locked is not None and locked["processed_at"] is not None:
            return "already processed"
        if not await Tenant.exists().where(Tenant.id == tenant_id):
            outcome = "ignored: workspace deleted"
        else:
            state = await lock_account(conn, tenant_id)
            customer = customer_of(obj)
            if customer and state.stripe_customer_id != customer:
                # only the customer we created for this workspace may change its plan
                outcome = "ignored: customer is not this workspace's"
            else:
                outcome = await apply_event(conn, state, payload)
        await StripeEvent.update(
            {StripeEvent.processed_at: NOW, StripeEvent.outcome: outcome}
        ).where(StripeEvent.id == event_id)
    return outcome


async def recover_stripe_events(
    ctx: dict[str, object], older_than_seconds: int = RECOVER_AFTER_SECONDS
) -> int:
    """Apply events left unprocessed (a worker died, an enqueue was lost); cron, every minute."""
    async with global_transaction() as conn:
        event_ids = await stale_unprocessed_events(conn, older_than_seconds, 200)
    for event_id in event_ids:
        await apply_stripe_event(ctx, event_id)
    return len(event_ids)


BILLING_FUNCTIONS = [func(apply_stripe_event, timeout=STRIPE_JOB_TIMEOUT)]
BILLING_CRON = cron(recover_stripe_events, second={30}, run_at_startup=True)
