"""Test mode (no Stripe keys): simulated Checkout and Portal actions that produce the same
signed webhook events Stripe would send, delivered through the real verification path."""

from __future__ import annotations

import json
import secrets
import time

from app.accounts.schemas import Current
from app.billing import stripe_client
from app.billing.services import ensure_customer, has_live_subscription, paid_plan
from app.billing.services import require_billing_admin as _require_admin
from app.billing.state import read_account
from app.billing.stripe_client import StripeObject
from app.billing.webhooks import receive_webhook
from app.core.db import tenant_transaction
from app.core.errors import Forbidden, FormInvalid
from app.settings import get_settings

MONTH = 30 * 24 * 3600
ACTIONS = ("payment_succeeded", "payment_failed", "trial_ending", "cancel", "cancel_at_period_end")


def _require_test_mode() -> None:
    if not stripe_client.is_test_mode():
        raise Forbidden("Simulated billing exists only in test mode.")


async def deliver(kind: str, obj: StripeObject) -> str:
    """Sign an event like Stripe does and hand it to the webhook receiver."""
    event = {
        "id": "evt_test_" + secrets.token_hex(12),
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2025-01-27.acacia",
        "data": {"object": obj},
    }
    payload = json.dumps(event)
    return await receive_webhook(payload.encode(), stripe_client.sign_test_payload(payload))


def _invoice(sub: StripeObject, cents: int, status: str) -> StripeObject:
    return {
        "id": "in_test_" + secrets.token_hex(8),
        "object": "invoice",
        "customer": sub["customer"],
        "subscription": sub["id"],
        "number": "TEST-" + secrets.token_hex(3).upper(),
        "status": status,
        "amount_due": cents,
        "amount_paid": cents if status == "paid" else 0,
        "currency": "usd",
        "hosted_invoice_url": None,
        "created": int(time.time()),
    }


def _sub_price(sub: StripeObject, price_id: str, period_end: int) -> None:
    sub["items"] = {
        "object": "list",
        "data": [{"price": {"id": price_id}, "current_period_end": period_end}],
    }
    sub["current_period_end"] = period_end


async def simulate_checkout(current: Current, plan_key: str) -> None:
    """What completing Stripe Checkout would send: session completed, subscription, invoice."""
    _require_test_mode()
    _require_admin(current)
    plan = paid_plan(plan_key)
    account = await ensure_customer(current)
    now = int(time.time())
    if has_live_subscription(account) and account.stripe_subscription_id:
        sub = await stripe_client.retrieve_subscription(account.stripe_subscription_id)
        if sub is not None:
            _sub_price(sub, plan.price_id, now + MONTH)
            await stripe_client.save_test_subscription(sub)
            await deliver("customer.subscription.updated", sub)
            return
    trial_days = get_settings().billing_trial_days
    sub = {
        "id": "sub_test_" + secrets.token_hex(8),
        "object": "subscription",
        "customer": account.stripe_customer_id,
        "status": "trialing" if trial_days > 0 else "active",
        "created": now,
        "cancel_at_period_end": False,
        "trial_end": now + trial_days * 86400 if trial_days > 0 else None,
        "metadata": {"tenant_id": str(current.tenant_id), "plan": plan.key},
    }
    _sub_price(sub, plan.price_id, now + (trial_days * 86400 if trial_days > 0 else MONTH))
    await stripe_client.save_test_subscription(sub)
    session = {
        "id": "cs_test_" + secrets.token_hex(8),
        "object": "checkout.session",
        "mode": "subscription",
        "status": "complete",
        "customer": account.stripe_customer_id,
        "subscription": sub["id"],
        "client_reference_id": str(current.tenant_id),
        "metadata": {"tenant_id": str(current.tenant_id), "plan": plan.key},
    }
    await deliver("checkout.session.completed", session)
    await deliver("customer.subscription.created", sub)
    cents = 0 if trial_days > 0 else plan.monthly_usd * 100
    await deliver("invoice.paid", _invoice(sub, cents, "paid"))


async def simulate_portal_action(current: Current, action: str) -> None:
    """What Stripe would send after a renewal, a failed card, a trial ending or a cancel."""
    _require_test_mode()
    _require_admin(current)
    if action not in ACTIONS:
        raise FormInvalid({"action": "Unknown action."})
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        account = await read_account(conn, current.tenant_id)
    sub = (
        await stripe_client.retrieve_subscription(account.stripe_subscription_id)
        if account.stripe_subscription_id
        else None
    )
    if sub is None or sub["status"] == "canceled":
        raise FormInvalid({"action": "There is no subscription: simulate a checkout first."})
    cents = paid_plan(account.plan).monthly_usd * 100 if account.plan != "free" else 0
    if action == "payment_succeeded":
        sub["status"] = "active"
        sub["trial_end"] = None
        _sub_price(sub, str(account.stripe_price_id), int(time.time()) + MONTH)
        await stripe_client.save_test_subscription(sub)
        await deliver("invoice.paid", _invoice(sub, cents, "paid"))
        await deliver("customer.subscription.updated", sub)
    elif action == "payment_failed":
        sub["status"] = "past_due"
        await stripe_client.save_test_subscription(sub)
        await deliver("invoice.payment_failed", _invoice(sub, cents, "open"))
        await deliver("customer.subscription.updated", sub)
    elif action == "trial_ending":
        if sub["status"] != "trialing":
            raise FormInvalid({"action": "The subscription is not in a trial."})
        sub["trial_end"] = int(time.time()) + 3 * 86400
        await stripe_client.save_test_subscription(sub)
        await deliver("customer.subscription.trial_will_end", sub)
    elif action == "cancel_at_period_end":
        sub["cancel_at_period_end"] = True
        await stripe_client.save_test_subscription(sub)
        await deliver("customer.subscription.updated", sub)
    else:
        sub["status"] = "canceled"
        await stripe_client.save_test_subscription(sub)
        await deliver("customer.subscription.deleted", sub)
