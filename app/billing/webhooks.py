"""Incoming Stripe webhooks: verify the signature on the raw body, store, enqueue, answer."""

from __future__ import annotations

import json

from app.billing import stripe_client
from app.core.db import after_commit, global_transaction
from app.core.redis import queue

APPLY_JOB = "apply_stripe_event"


def job_id(event_id: str) -> str:
    return f"stripe-event:{event_id}"


async def receive_webhook(payload: bytes, signature: str | None) -> str:
    """Store a verified event once under its id and enqueue its job; returns the event id.

    Raises stripe_client.InvalidSignature (nothing stored) when the signature does not verify.
    A redelivered event that is not processed yet is enqueued again (deduplicated by job id).
    """
    event = stripe_client.verify_event(payload, signature)
    event_id = str(event["id"])
    async with global_transaction() as conn:
        await conn.execute(
            "insert into stripe_events (id, type, created, livemode, payload)"
            " values ($1, $2, $3, $4, $5::jsonb) on conflict (id) do nothing",
            event_id,
            str(event["type"]),
            int(event.get("created") or 0),
            bool(event.get("livemode")),
            json.dumps(json.loads(payload)),
        )
        done = await conn.fetchval(
            "select processed_at is not null from stripe_events where id = $1", event_id
        )
        if not done:

            async def enqueue() -> None:
                await queue().enqueue_job(APPLY_JOB, event_id, _job_id=job_id(event_id))

            after_commit(enqueue)
    return event_id
