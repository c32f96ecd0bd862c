"""The code of billing's data map (app/billing/datamap.toml): the plan and Stripe references,
Stripe's invoices and events.

Card details never reach Odex (Stripe's pages take them). Deleting a workspace cancels its
subscription at Stripe and deletes the Stripe customer before its rows go.
"""

from __future__ import annotations

from uuid import UUID

from app.billing import queries
from app.billing.services import cancel_and_delete_customer, recent_invoices
from app.billing.stripe_client import TEST_SUB_PREFIX
from app.core.datamap import Section, Subject, Treatments, Viewer, like_any, redis_keys_holding
from app.core.db import global_transaction, tenant_transaction
from app.core.redis import redis

HIDDEN = {"tenant_id", "state_at", "subscription_created"}


async def _read_account(viewer: Viewer, after: str | None, limit: int) -> Section:
    async with tenant_transaction(viewer.tenant_id) as conn:
        row = await queries.account_as_stored(conn)
    rows = [{k: v for k, v in row.items() if k not in HIDDEN}] if row else []
    columns = [(k, k.replace("_", " ").capitalize()) for k in (rows[0] if rows else {})]
    return Section(
        "Billing details we hold (this workspace)",
        columns,
        rows,
        note="Card details are entered on Stripe's pages and never reach Odex.",
    )


async def _read_invoices(viewer: Viewer, after: str | None, limit: int) -> Section:
    columns = [
        ("number", "Number"),
        ("status", "Status"),
        ("amount_due", "Due (cents)"),
        ("amount_paid", "Paid (cents)"),
        ("currency", "Currency"),
        ("invoice_created", "Date"),
    ]
    async with tenant_transaction(viewer.tenant_id):
        invoices = await recent_invoices(limit)
    rows: list[dict[str, object]] = [{k: getattr(i, k) for k, _ in columns} for i in invoices]
    return Section("Subscription invoices (from Stripe, this workspace)", columns, rows)


async def _cancel_at_stripe(tenant_id: UUID) -> int:
    """Before the workspace's rows go: the subscription stops billing, the customer goes."""
    await cancel_and_delete_customer(tenant_id)
    return 1


async def _scrub_events(needles: list[str]) -> int:
    """Stored webhooks keep their ids (a redelivery is still recognised), not their contents."""
    async with global_transaction() as conn:
        return await queries.empty_events_mentioning(conn, like_any(needles))


async def _purge_events(tenant_id: UUID) -> int:
    return await _scrub_events([str(tenant_id)])


async def _forget_events(subject: Subject) -> int:
    return await _scrub_events(subject.needles)


async def _purge_test_subscriptions(tenant_id: UUID) -> int:
    keys = await redis_keys_holding(f"{TEST_SUB_PREFIX}*", [str(tenant_id)])
    return int(await redis().delete(*keys)) if keys else 0


TREATMENTS = Treatments(
    read=[_read_account, _read_invoices],
    forget_user=[_forget_events],
    purge=[_cancel_at_stripe, _purge_events, _purge_test_subscriptions],
)
