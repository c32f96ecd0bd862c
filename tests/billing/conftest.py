"""Billing fixtures: the local fake Stripe API, signed webhook deliveries, subscriptions."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
import stripe

from tests.billing.fake_stripe import FakeStripe

WEBHOOK_SECRET = "whsec_test_" + secrets.token_hex(12)
PRICE_PRO = "price_pro_monthly_test"
PRICE_BUSINESS = "price_business_monthly_test"


@pytest.fixture
def fake_stripe(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    """Stripe keys set, every outgoing call sent to a local fake (settings re-read)."""
    from app.settings import get_settings

    fake = FakeStripe().start()
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setenv("STRIPE_API_BASE", fake.url)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("STRIPE_PRICE_PRO", PRICE_PRO)
    monkeypatch.setenv("STRIPE_PRICE_BUSINESS", PRICE_BUSINESS)
    get_settings.cache_clear()
    yield fake
    fake.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


def signed(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header, computed by the SDK's own scheme."""
    return str(stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp))


def event(kind: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    return {
        "id": "evt_" + secrets.token_hex(10),
        "object": "event",
        "type": kind,
        "created": created or int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


async def deliver(client: Any, evt: dict[str, Any], secret: str = WEBHOOK_SECRET) -> Any:
    payload = json.dumps(evt)
    return await client.post(
        "/billing/webhook",
        content=payload.encode(),
        headers={"Stripe-Signature": signed(payload, secret), "Content-Type": "application/json"},
    )


def subscription(
    sub_id: str,
    customer: str,
    tenant_id: UUID,
    *,
    price: str = PRICE_PRO,
    status: str = "active",
    created: int | None = None,
    trial_end: int | None = None,
    cancel_at_period_end: bool = False,
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "created": created or now,
        "cancel_at_period_end": cancel_at_period_end,
        "trial_end": trial_end,
        "metadata": {"tenant_id": str(tenant_id)},
        "items": {
            "object": "list",
            "data": [{"price": {"id": price}, "current_period_end": now + 30 * 86400}],
        },
    }


def invoice(
    sub: dict[str, Any], cents: int, status: str, inv_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": inv_id or "in_" + secrets.token_hex(8),
        "object": "invoice",
        "customer": sub["customer"],
        "subscription": sub["id"],
        "number": "INV-" + secrets.token_hex(3).upper(),
        "status": status,
        "amount_due": cents,
        "amount_paid": cents if status == "paid" else 0,
        "currency": "usd",
        "hosted_invoice_url": "https://invoice.stripe.test/i/x",
        "created": int(time.time()),
    }


def session_completed(sub: dict[str, Any], tenant_id: UUID) -> dict[str, Any]:
    return {
        "id": "cs_test_" + secrets.token_hex(8),
        "object": "checkout.session",
        "mode": "subscription",
        "customer": sub["customer"],
        "subscription": sub["id"],
        "client_reference_id": str(tenant_id),
        "metadata": {"tenant_id": str(tenant_id)},
    }
