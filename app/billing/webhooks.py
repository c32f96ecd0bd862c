"""Incoming Stripe webhooks: verify the signature on the raw body, store, enqueue, answer."""

from __future__ import annotations

import json

from piccolo.querystring import QueryString

from app.billing import stripe_client
from app.billing.tables import StripeEvent
from app.core.db import after_commit, global_transaction
from app.core.redis import queue

APPLY_JOB = "apply_stripe_event"
NOW = QueryString("now()")  # the database's clock, which the recovery cron compares with


def job_id(event_id: str) -> str:
    return f"stripe-event:{event_id}"


async def receive_webhook(payload: bytes, signature: str | None) -> str:
    """Store a verified event once under its id and enqueue its job; returns the event id.

    Raises stripe_client.InvalidSignature (nothing stored) when the signature does not verify.
    A redelivered event that is not processed yet is enqueued again (deduplicated by job id).
    """
    event = stripe_client.verify_event(payload, signature)
    event_id = str(event["id"])
    async with global_transaction():
        await StripeEvent.insert(
            StripeEvent(
                id=event_id,
                type=str(event["type"]),
                created=int(event.get("created") or 0),
                livemode=bool(event.get("livemode")),
                payload=json.dumps(json.loads(payload)),
                received_at=NOW,
            )
        ).on_conflict(target=StripeEvent.id, action="DO NOTHING")
        row = await (
            StripeEvent.select(StripeEvent.processed_at).where(StripeEvent.id == event_id).first()
        )
        if row is None or row["processed_at"] is None:

            async def enqueue() -> None:
                await queue().enqueue_job(APPLY_JOB, event_id, _job_id=job_id(event_id))

            after_commit(enqueue)
    return event_id
