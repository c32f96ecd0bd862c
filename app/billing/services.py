"""Billing actions: the billing page's data, Checkout and Portal sessions, account deletion."""

from __future__ import annotations

import secrets
from uuid import UUID

import msgspec
from piccolo.query import OrderByRaw

from app.accounts.schemas import Current
from app.billing import queries, stripe_client
from app.billing.limits import usage_and_plan
from app.billing.plans import Plan, plans
from app.billing.queries import InvoiceRecord, Usage
from app.billing.state import ENDED_STATUSES_ALL, NOW, AccountState, lock_account, read_account
from app.billing.tables import BillingAccount, BillingInvoice
from app.core.db import global_transaction, tenant_transaction
from app.core.errors import Forbidden, FormInvalid
from app.core.rows import rows_as
from app.notifications.feed import FeedItem, latest_of_kind
from app.settings import get_settings

BILLING_PATH = "/settings/billing"


def require_billing_admin(current: Current) -> None:
    if not current.is_admin:
        raise Forbidden("Only owners and admins can change the plan or the card.")


class BillingOverview(msgspec.Struct, frozen=True):
    """What the billing page shows."""

    account: AccountState
    plan: Plan
    subscribed_plan: Plan
    plans: list[Plan]
    usage: Usage
    invoices: list[InvoiceRecord]
    notices: list[FeedItem]  # the signed-in person's billing notifications
    test_mode: bool
    configured: bool
    in_grace: bool
    grace_expired: bool
    has_subscription: bool


async def recent_invoices(limit: int) -> list[InvoiceRecord]:
    """The tenant's latest invoices, newest first (undated ones last), in its transaction."""
    rows = await (
        BillingInvoice.select()
        .order_by(OrderByRaw("invoice_created is null"))  # DESC NULLS LAST
        .order_by(BillingInvoice.invoice_created, ascending=False)
        .limit(limit)
    )
    return rows_as(InvoiceRecord, rows)


async def billing_overview(current: Current) -> BillingOverview:
    """What the billing page shows: plan, usage against limits, invoices, recent notices."""
    usage, plan = await usage_and_plan(current.tenant_id)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        account = await read_account(conn, current.tenant_id)
        invoices = await recent_invoices(24)
        notices = await latest_of_kind(current.user_id, "billing.", 5)
    return BillingOverview(
        account=account,
        plan=plan,
        subscribed_plan=plans().get(account.plan, plans()["free"]),
        plans=list(plans().values()),
        usage=usage,
        invoices=invoices,
        notices=notices,
        test_mode=stripe_client.is_test_mode(),
        configured=stripe_client.is_test_mode() or bool(get_settings().stripe_secret_key),
        in_grace=account.in_grace(),
        grace_expired=account.grace_expired(),
        has_subscription=has_live_subscription(account),
    )


async def events_pending(account: AccountState) -> int:
    """How many received Stripe events about this workspace's customer are not applied yet
    (after a checkout: the plan may change before its invoice is recorded)."""
    if not account.stripe_customer_id:
        return 0
    async with global_transaction() as conn:
        return await queries.unprocessed_events_of_customer(conn, account.stripe_customer_id)


def has_live_subscription(account: AccountState) -> bool:
    return bool(account.stripe_subscription_id) and account.status not in ENDED_STATUSES_ALL


def paid_plan(plan_key: str) -> Plan:
    plan = plans().get(plan_key)
    if plan is None or not plan.is_paid:
        raise FormInvalid({"plan": "Choose the Pro or Business plan."})
    return plan


async def ensure_customer(current: Current) -> AccountState:
    """The tenant's Stripe customer, created once (row lock + idempotency key on the tenant)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        account = await lock_account(conn, current.tenant_id)
        if account.stripe_customer_id:
            return account
        customer_id = await stripe_client.create_customer(
            current.tenant_id, current.tenant_name, current.email
        )
        await BillingAccount.update(
            {BillingAccount.stripe_customer_id: customer_id, BillingAccount.updated_at: NOW}
        ).where(BillingAccount.tenant_id == current.tenant_id)
        account.stripe_customer_id = customer_id
        return account


async def start_checkout(current: Current, plan_key: str) -> str:
    """Where to send the browser to subscribe to `plan_key` (Stripe Checkout, or the Portal
    when a subscription already runs: plan switches happen there)."""
    require_billing_admin(current)
    plan = paid_plan(plan_key)
    account = await ensure_customer(current)
    assert account.stripe_customer_id
    if has_live_subscription(account):
        if account.plan == plan.key:
            raise FormInvalid({"plan": f"You are already on the {plan.name} plan."})
        if not stripe_client.is_test_mode():
            return await open_portal(current)
    base = get_settings().base_url
    return await stripe_client.create_checkout_session(
        tenant_id=current.tenant_id,
        customer_id=account.stripe_customer_id,
        price_id=plan.price_id,
        plan_key=plan.key,
        success_url=f"{base}{BILLING_PATH}?checkout=success&from={account.effective_plan().key}",
        cancel_url=f"{base}{BILLING_PATH}?checkout=cancelled",
        trial_days=get_settings().billing_trial_days,
        request_key=secrets.token_hex(8),
    )


async def open_portal(current: Current) -> str:
    """A Stripe Customer Portal session (card, invoices, cancel)."""
    require_billing_admin(current)
    account = await ensure_customer(current)
    assert account.stripe_customer_id
    return await stripe_client.create_portal_session(
        account.stripe_customer_id,
        f"{get_settings().base_url}{BILLING_PATH}",
        secrets.token_hex(8),
    )


async def cancel_and_delete_customer(tenant_id: UUID) -> None:
    """For workspace deletion: cancel the subscription now and delete the Stripe customer.

    Safe to call again (a retried deletion job): Stripe's 404s count as done.
    """
    async with tenant_transaction(tenant_id) as conn:
        account = await read_account(conn, tenant_id)
    if account.stripe_subscription_id and account.status not in ENDED_STATUSES_ALL:
        await stripe_client.cancel_subscription(account.stripe_subscription_id)
    if account.stripe_customer_id:
        await stripe_client.delete_customer(account.stripe_customer_id)
    async with tenant_transaction(tenant_id):
        await BillingAccount.update(
            {
                BillingAccount.plan: "free",
                BillingAccount.status: "canceled",
                BillingAccount.stripe_customer_id: None,
                BillingAccount.grace_until: None,
                BillingAccount.updated_at: NOW,
            }
        ).where(BillingAccount.tenant_id == tenant_id)
    if account.stripe_customer_id:  # the events named this customer: keep ids, drop contents
        async with global_transaction() as conn:
            await queries.wipe_events_of_customer(conn, account.stripe_customer_id)
