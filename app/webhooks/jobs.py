"""Sending deliveries: an arq job per delivery attempt, retries with backoff for a day, one
record's deliveries in order, and subscriptions that keep failing turned off (their admins
alerted).

A delivery is locked while it is sent and its outcome written in the same transaction, so two
workers never send it twice. A delivery whose elder (same subscription, same record) is still
pending waits: when the elder is delivered or given up, its job queues the next one. A failed
attempt sets the time of the next; the sweep (every 15 s, one query for every workspace)
queues the deliveries that are due, and the first attempts whose job was lost. Retries are
never parked in arq as deferred jobs: the database is the one schedule.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

from app.core.crypto import all_tenant_ids
from app.core.db import after_commit, global_transaction, tenant_transaction
from app.core.rows import NOW
from app.security.alerts import raise_security_alert
from app.settings import get_settings
from app.webhooks import queries, sender
from app.webhooks.outbox import enqueue_delivery
from app.webhooks.schemas import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from app.webhooks.secret import open_secret
from app.webhooks.tables import WebhookDelivery, WebhookSubscription

log = logging.getLogger("odex.webhooks")

RETRY_FOR = timedelta(hours=24)  # a delivery is retried this long after it was made
FIRST_RETRY_SECONDS = 15.0
LONGEST_WAIT_SECONDS = 3600.0
DISABLE_AFTER_FAILURES = 100  # consecutive failed attempts that turn a subscription off...
DISABLE_AFTER_FAILING = timedelta(hours=24)  # ...or failing attempts, none good, this long
KEEP_DAYS = 30  # finished deliveries (their bodies hold CRM data) are kept this long
SWEEP_BATCH = 1000
OFF = "the webhook was turned off"
IN_FLIGHT = timedelta(seconds=60)  # a claimed attempt's lease (the request takes 10 s at most)


def retry_delay(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: 15 s, 30 s, 1 min … at most an hour."""
    return min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_WAIT_SECONDS)


def allow_local_targets() -> bool:
    """Loopback and private addresses, and plain http: only in dev (and the tests' receiver)."""
    return get_settings().dev_features


async def _give_up_on_hook(
    tenant_id: UUID, hook_id: UUID, failing: queries.Failing, why: str
) -> None:
    """Turn the subscription off, fail its pending deliveries, alert the workspace's admins."""
    async with tenant_transaction(tenant_id) as conn:
        done = await queries.disable_hook(conn, tenant_id, hook_id, f"turned off: {why}")
        details: dict[str, object] = {
            "summary": f"{failing.url} ({why})",
            "webhook_id": str(hook_id),
            "deliveries_given_up": done[1] if done else 0,
        }
        await raise_security_alert(tenant_id, "webhook_disabled", failing.created_by, details)
    log.warning("webhook %s of tenant %s turned off: %s", hook_id, tenant_id, why)


async def _claim(tenant_id: UUID, delivery_id: UUID) -> queries.Sending | str:
    """Take the delivery for one attempt: its row, or why not (skip, waiting, failed). The
    claim moves its next attempt IN_FLIGHT ahead, so no other job sends it meanwhile, and a
    worker that dies mid-send leaves it to the sweep after that."""
    async with tenant_transaction(tenant_id) as conn:
        sending = await queries.lock_pending(conn, tenant_id, delivery_id)
        if sending is None:  # done (another worker sent it, or gave it up)
            return "skip"
        if not sending.due:
            return "skip"  # in flight elsewhere, or early: the sweep queues it when due
        if not sending.enabled:  # turned off since: given up, like the rest of its queue
            await queries.record_attempt(conn, delivery_id, "failed", None, 0, "", OFF, 0)
            return "failed"
        if await queries.waits_for_earlier(conn, sending):
            return "waiting"  # the elder's job queues this one when it is done
        await queries.claim(conn, delivery_id, IN_FLIGHT.total_seconds())
    return sending


async def _still_pending(tenant_id: UUID, delivery_id: UUID) -> bool:
    """Lock the delivery again for its outcome; False once it was given up meanwhile."""
    row = await (
        WebhookDelivery.select(WebhookDelivery.id)
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
        )
        .lock_rows("UPDATE")
        .first()
    )
    return row is not None


async def deliver_webhook(ctx: object, tenant: str, delivery: str) -> str:
    """Send one delivery (arq job); what happened: delivered, pending (a retry is scheduled),
    failed (given up), waiting (for the record's earlier delivery) or skip.

    No transaction is held while the request is out (up to 10 s): the claim, the request, then
    the outcome in a second transaction, if the delivery is still this job's."""
    tenant_id, delivery_id = UUID(tenant), UUID(delivery)
    sending = await _claim(tenant_id, delivery_id)
    if isinstance(sending, str):
        return sending
    body = sending.payload.encode()
    secret = open_secret(sending.secret_enc, tenant_id, sending.subscription_id)
    previous = None
    if sending.previous_secret_enc is not None:  # a rotation's overlap: signed with both
        previous = open_secret(
            sending.previous_secret_enc, tenant_id, sending.subscription_id, "previous_secret_enc"
        )
    headers = {
        SIGNATURE_HEADER: signature_header(secret, int(time.time()), body, previous),
        EVENT_HEADER: sending.event,
        DELIVERY_HEADER: str(sending.id),
    }
    outcome = await sender.post(sending.url, body, headers, allow_local=allow_local_targets())
    disable_why, failing = "", None
    async with tenant_transaction(tenant_id) as conn:
        if not await _still_pending(tenant_id, delivery_id):
            return "skip"  # given up meanwhile (the webhook was turned off)
        expired = sending.created_at + RETRY_FOR <= datetime.now(UTC)
        if outcome.ok:
            status, wait = "delivered", 0.0
            await WebhookSubscription.update(
                {
                    WebhookSubscription.consecutive_failures: 0,
                    WebhookSubscription.failing_since: None,
                    WebhookSubscription.last_success_at: NOW,
                }
            ).where(
                WebhookSubscription.tenant_id == tenant_id,
                WebhookSubscription.id == sending.subscription_id,
            )
        else:
            status, wait = ("failed" if expired else "pending"), retry_delay(sending.attempts + 1)
            failing = await queries.hook_failed(conn, tenant_id, sending.subscription_id)
            if failing.consecutive_failures >= DISABLE_AFTER_FAILURES:
                disable_why = f"{failing.consecutive_failures} failed deliveries in a row"
            elif failing.failing_for_seconds >= DISABLE_AFTER_FAILING.total_seconds():
                disable_why = "every delivery failed for 24 hours"
        await queries.record_attempt(
            conn,
            delivery_id,
            status,
            outcome.status,
            outcome.latency_ms,
            outcome.excerpt,
            outcome.error,
            wait,
        )
        if status != "pending":  # done with: the record's next delivery may go now
            following = await queries.next_in_chain(
                conn, tenant_id, sending.subscription_id, sending.order_key
            )
            if following is not None:
                after_commit(lambda: enqueue_delivery(tenant_id, following))
    if failing is not None and disable_why:
        await _give_up_on_hook(tenant_id, sending.subscription_id, failing, disable_why)
    return status


async def sweep_webhooks(ctx: object = None) -> int:
    """Cron (every 15 s): queue the deliveries that are due (retries, and first attempts whose
    job was lost); returns how many."""
    async with global_transaction() as conn:
        due = await queries.due_everywhere(conn, SWEEP_BATCH)
    for tenant_id, delivery_id in due:
        await enqueue_delivery(tenant_id, delivery_id)
    return len(due)


async def forget_old_deliveries() -> int:
    """The daily retention sweep (the data map's `expire`): finished deliveries older than
    KEEP_DAYS go, workspace by workspace; how many."""
    forgotten = 0
    for tenant_id in await all_tenant_ids():
        async with tenant_transaction(tenant_id) as conn:
            forgotten += await queries.forget_old(conn, tenant_id, KEEP_DAYS)
    return forgotten
