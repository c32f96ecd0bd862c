"""Applying Stripe events to a tenant's billing state: idempotent and order-safe.

Order safety: the subscription is re-read from Stripe (while the tenant's billing row is locked)
rather than trusted from the event, so whichever event is processed last writes Stripe's current
state; an event about an older subscription than the one on record is ignored. Only when Stripe
no longer knows the subscription is the event's own copy used, and then only if it is not older
than the state already applied.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec

from app.billing import queries, stripe_client
from app.billing.notices import send_billing_notice
from app.billing.plans import plan_for_price, plans
from app.billing.queries import InvoiceRecord
from app.billing.state import FAILING_STATUSES, LIVE_STATUSES, AccountState, save_account
from app.billing.stripe_client import StripeObject
from app.billing.tables import BillingInvoice
from app.core.money import amount, money
from app.settings import get_settings

log = logging.getLogger("odex.billing")
ENDED_STATUSES = ("canceled", "incomplete_expired")
HANDLED = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.trial_will_end",
)


def _ts(value: int | str | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _id(value: object) -> str | None:
    """A Stripe reference that may be an id or an expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def customer_of(obj: StripeObject) -> str | None:
    """The Stripe customer an object belongs to."""
    return _id(obj.get("customer"))


def subscription_of(obj: StripeObject) -> str | None:
    """The subscription an invoice or Checkout Session belongs to (old and new API shapes)."""
    found = _id(obj.get("subscription"))
    if found:
        return found
    parent = obj.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return _id(details.get("subscription"))


def tenant_hint(obj: StripeObject) -> str | None:
    """The tenant id we put in metadata (Checkout Session, subscription, invoice's parent)."""
    for source in (
        obj.get("metadata"),
        obj.get("subscription_details"),
        ((obj.get("parent") or {}).get("subscription_details") or {}).get("metadata"),
    ):
        if isinstance(source, dict):
            meta = source.get("metadata", source)
            if isinstance(meta, dict) and meta.get("tenant_id"):
                return str(meta["tenant_id"])
    ref = obj.get("client_reference_id")
    return str(ref) if ref else None


def _price(sub: StripeObject) -> str | None:
    items = (sub.get("items") or {}).get("data") or []
    if items:
        return _id((items[0] or {}).get("price"))
    return _id(sub.get("plan"))


def _period_end(sub: StripeObject) -> datetime | None:
    if sub.get("current_period_end"):
        return _ts(sub["current_period_end"])
    items = (sub.get("items") or {}).get("data") or []
    return _ts(items[0].get("current_period_end")) if items else None


class Applied:
    """The state before an event, to tell what it changed."""

    def __init__(self, before: AccountState) -> None:
        self.before_plan = before.effective_plan()
        self.before = msgspec.structs.replace(before)


def apply_subscription(
    state: AccountState, sub: StripeObject, event_created: int, *, reread: bool
) -> bool:
    """Copy a subscription into the state; False when it is older than what is on record."""
    sub_created = int(sub.get("created") or 0)
    current_id = state.stripe_subscription_id
    if current_id and sub.get("id") != current_id:
        current_live = state.status not in ENDED_STATUSES
        if sub_created < (state.subscription_created or 0) or (
            current_live and sub.get("status") in ENDED_STATUSES
        ):
            return False  # an older (or ended) subscription must not replace the current one
    if not reread and event_created < state.state_at:
        return False  # the event's own copy is older than the state already applied
    status = str(sub.get("status") or "none")
    price = _price(sub)
    plan = plan_for_price(price)
    if plan is None and status not in ENDED_STATUSES:
        log.warning("subscription %s has price %s, which no plan uses", sub.get("id"), price)
    state.stripe_subscription_id = str(sub["id"])
    state.subscription_created = sub_created
    state.stripe_customer_id = state.stripe_customer_id or _id(sub.get("customer"))
    state.status = status
    state.stripe_price_id = price
    state.plan = plan.key if plan and status not in ENDED_STATUSES else "free"
    state.current_period_end = _period_end(sub)
    state.cancel_at_period_end = bool(sub.get("cancel_at_period_end"))
    state.trial_end = _ts(sub.get("trial_end"))
    if status in FAILING_STATUSES:
        grace = timedelta(days=get_settings().billing_grace_days)
        state.grace_until = state.grace_until or datetime.now(UTC) + grace
    else:
        state.grace_until = None
    state.state_at = max(state.state_at, event_created)
    return True


async def refresh_subscription(
    state: AccountState, subscription_id: str | None, snapshot: StripeObject | None, created: int
) -> bool:
    """Re-read the subscription from Stripe and apply it (the event's copy as a fallback)."""
    if not subscription_id:
        return False
    current = await stripe_client.retrieve_subscription(subscription_id)
    if current is not None:
        return apply_subscription(state, current, created, reread=True)
    if snapshot is not None:
        return apply_subscription(state, snapshot, created, reread=False)
    return False


async def upsert_invoice(conn: asyncpg.Connection, tenant_id: UUID, inv: StripeObject) -> str:
    """Record the invoice; a paid invoice never goes back to unpaid. Returns the prior status."""
    found = await (
        BillingInvoice.select(BillingInvoice.status)
        .where(BillingInvoice.stripe_invoice_id == str(inv["id"]))
        .first()
    )
    previous = None if found is None else found["status"]
    status = str(inv.get("status") or "open")
    if previous == "paid":
        status = "paid"
    record = InvoiceRecord(
        stripe_invoice_id=str(inv["id"]),
        number=inv.get("number"),
        status=status,
        amount_due=int(inv.get("amount_due") or 0),
        amount_paid=int(inv.get("amount_paid") or 0),
        currency=str(inv.get("currency") or "usd"),
        hosted_invoice_url=inv.get("hosted_invoice_url"),
        invoice_created=_ts(inv.get("created")),
    )
    await queries.upsert_invoice(conn, tenant_id, record)
    return str(previous or "")


def _money(cents: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower(), "")
    text = amount(cents / 100)
    return f"{symbol}{text}" if symbol else money(cents / 100, currency.upper())


def _day(value: datetime | None) -> str:
    return value.strftime("%B %-d, %Y") if value else "soon"


async def apply_event(conn: asyncpg.Connection, state: AccountState, event: StripeObject) -> str:
    """Apply one event to the locked state, save it, send the notices; returns the outcome."""
    kind = str(event["type"])
    created = int(event.get("created") or 0)
    obj: StripeObject = (event.get("data") or {}).get("object") or {}
    tenant_id = state.tenant_id
    changed = Applied(state)
    notices: list[tuple[str, str, str, str]] = []

    if kind == "checkout.session.completed":
        state.stripe_customer_id = state.stripe_customer_id or _id(obj.get("customer"))
        await refresh_subscription(state, subscription_of(obj), None, created)
    elif kind.startswith("customer.subscription."):
        await refresh_subscription(state, _id(obj.get("id")), obj, created)
        trial_end = state.trial_end
        if (
            kind.endswith("trial_will_end")
            and state.status == "trialing"
            and trial_end is not None
            and trial_end > datetime.now(UTC)
        ):
            name = plans()[state.plan].name
            notices.append(
                (
                    "trial_ending",
                    "Your trial ends soon",
                    f"Your {name} trial ends on {_day(trial_end)}. "
                    "Add a card before then to keep your plan.",
                    "Add a card",
                )
            )
    elif kind in ("invoice.paid", "invoice.payment_failed"):
        previous = await upsert_invoice(conn, tenant_id, obj)
        await refresh_subscription(state, subscription_of(obj), None, created)
        currency = str(obj.get("currency") or "usd")
        if kind == "invoice.paid" and previous != "paid" and int(obj.get("amount_paid") or 0):
            amount = _money(int(obj["amount_paid"]), currency)
            notices.append(
                (
                    "payment_succeeded",
                    "Payment received",
                    f"We received your payment of {amount}. Thank you! "
                    "The invoice is on your billing page.",
                    "See invoices",
                )
            )
        elif kind == "invoice.payment_failed" and previous != "paid":
            if state.status in LIVE_STATUSES and state.stripe_subscription_id:
                pass  # paid since (retry succeeded): the failure is stale news
            else:
                if state.grace_until is None and state.plan != "free":
                    grace = timedelta(days=get_settings().billing_grace_days)
                    state.grace_until = datetime.now(UTC) + grace
                amount = _money(int(obj.get("amount_due") or 0), currency)
                notices.append(
                    (
                        "payment_failed",
                        "Payment failed: update your card",
                        f"We couldn't charge {amount} for your subscription. Update your card by "
                        f"{_day(state.grace_until)} to keep your plan; after that the workspace "
                        "moves to the Free plan.",
                        "Update your card",
                    )
                )
    else:
        return "ignored"

    await save_account(conn, state)
    notices = _state_notices(changed, state) + notices
    for notice_kind, title, body, label in notices:
        await send_billing_notice(conn, tenant_id, notice_kind, title, body, label)
    return "applied" + (f" ({', '.join(n[0] for n in notices)})" if notices else "")


def _state_notices(changed: Applied, state: AccountState) -> list[tuple[str, str, str, str]]:
    """Plan changed / subscription cancelled, from the state before and after."""
    before, out = changed.before, []
    after_plan = state.effective_plan()
    cancelled_now = state.status in ENDED_STATUSES and before.status not in ENDED_STATUSES
    if cancelled_now and before.stripe_subscription_id:
        out.append(
            (
                "subscription_cancelled",
                "Subscription cancelled",
                "Your subscription was cancelled. The workspace is on the Free plan now; "
                "your data stays, and you can upgrade again at any time.",
                "Open billing",
            )
        )
    elif state.cancel_at_period_end and not before.cancel_at_period_end:
        out.append(
            (
                "subscription_cancelled",
                "Subscription cancelled",
                f"Your subscription was cancelled and ends on {_day(state.current_period_end)}. "
                "Until then nothing changes.",
                "Open billing",
            )
        )
    if after_plan.key != changed.before_plan.key and not cancelled_now:
        out.append(
            (
                "plan_changed",
                f"Plan changed to {after_plan.name}",
                f"Your workspace moved from {changed.before_plan.name} to {after_plan.name}. "
                f"It now includes {after_plan.seat_limit} seats and "
                f"{after_plan.record_limit:,} contacts and companies.",
                "Open billing",
            )
        )
    return out
