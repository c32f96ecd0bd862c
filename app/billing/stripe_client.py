"""The only module that talks to Stripe (and, in local test mode, to its stand-in in Valkey).

Every write carries an idempotency key. Without STRIPE_SECRET_KEY outside production the
module runs in test mode: customers, subscriptions and portal links are simulated locally, and
webhooks are signed with a local test secret so they go through the real verification path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlencode
from uuid import UUID

import stripe
from stripe.params.checkout import SessionCreateParams, SessionCreateParamsSubscriptionData

from app.core.redis import redis
from app.settings import Settings, get_settings

TEST_SUB_PREFIX = "billing:test-sub:"
TEST_SUB_TTL = 400 * 24 * 3600
TOLERANCE_SECONDS = stripe.Webhook.DEFAULT_TOLERANCE  # 300 s, Stripe's own default

# A JSON object of Stripe's API as it arrives (event, subscription, invoice, session): read
# key by key where used, with every value checked before it is stored.
StripeObject: TypeAlias = dict[str, Any]
T = TypeVar("T")

_clients: dict[tuple[str, str], stripe.StripeClient] = {}


class BillingUnavailable(Exception):
    """Stripe is not configured in production, or Stripe refused or failed a call."""


class InvalidSignature(Exception):
    """A webhook whose signature, timestamp or body does not verify."""


def is_test_mode(settings: Settings | None = None) -> bool:
    """True without Stripe keys in dev and tests only: everything is simulated locally."""
    settings = settings or get_settings()
    return not settings.stripe_secret_key and settings.dev_features


def webhook_secret(settings: Settings | None = None) -> str:
    """The endpoint secret; dev and test derive a stable local one from SECRET_KEY."""
    settings = settings or get_settings()
    if settings.stripe_webhook_secret:
        return settings.stripe_webhook_secret
    if settings.is_production:
        return ""
    digest = hmac.new(settings.secret_key.encode(), b"odex-local-webhook", hashlib.sha256)
    return "whsec_local_" + digest.hexdigest()[:32]


def _client() -> stripe.StripeClient:
    settings = get_settings()
    if not settings.stripe_secret_key:
        raise BillingUnavailable("Billing is not configured on this server.")
    key = (settings.stripe_secret_key, settings.stripe_api_base)
    client = _clients.get(key)
    if client is None:
        base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses=base,  # type: ignore[arg-type]
            http_client=stripe.HTTPXClient(timeout=15),
            max_network_retries=2,
        )
        _clients[key] = client
    return client


def _as_dict(obj: stripe.StripeObject) -> StripeObject:
    """An SDK object (an event, a subscription) as the plain JSON object it was received as."""
    return dict(obj.to_dict())


async def _call(coro: Awaitable[T]) -> T:
    try:
        return await coro
    except stripe.StripeError as exc:
        raise BillingUnavailable(exc.user_message or "Stripe could not complete that.") from exc


# ---- webhooks ---------------------------------------------------------------------------


def verify_event(payload: bytes, signature: str | None) -> StripeObject:
    """Check the Stripe-Signature header over the raw body (SDK, 300 s tolerance); the event."""
    secret = webhook_secret()
    if not secret:
        raise InvalidSignature("no webhook secret configured")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidSignature(str(exc)) from exc
    data = _as_dict(event)
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise InvalidSignature("not an event")
    return data


def sign_test_payload(payload: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for a locally simulated event (test mode only)."""
    if not is_test_mode():
        raise BillingUnavailable("Simulated events exist only in test mode.")
    return str(
        stripe.WebhookSignature.generate_signature_header(payload, webhook_secret(), timestamp)
    )


# ---- customers, Checkout, Customer Portal -----------------------------------------------


async def create_customer(tenant_id: UUID, name: str, email: str) -> str:
    """Create the tenant's Stripe customer (once: the key is the tenant id)."""
    if is_test_mode():
        return "cus_test_" + secrets.token_hex(8)
    customer = await _call(
        _client().v1.customers.create_async(
            params={"name": name, "email": email, "metadata": {"tenant_id": str(tenant_id)}},
            options={"idempotency_key": f"odex-customer-{tenant_id}"},
        )
    )
    return str(customer.id)


async def create_checkout_session(
    *,
    tenant_id: UUID,
    customer_id: str,
    price_id: str,
    plan_key: str,
    success_url: str,
    cancel_url: str,
    trial_days: int,
    request_key: str,
) -> str:
    """A Checkout Session in subscription mode; returns the URL to send the browser to."""
    if is_test_mode():
        return "/settings/billing/test-checkout?" + urlencode({"plan": plan_key})
    metadata = {"tenant_id": str(tenant_id), "plan": plan_key}
    subscription_data: SessionCreateParamsSubscriptionData = {"metadata": metadata}
    if trial_days > 0:
        subscription_data["trial_period_days"] = trial_days
    params: SessionCreateParams = {
        "mode": "subscription",
        "customer": customer_id,
        "client_reference_id": str(tenant_id),
        "line_items": [{"price": price_id, "quantity": 1}],
        "metadata": metadata,
        "subscription_data": subscription_data,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    session = await _call(
        _client().v1.checkout.sessions.create_async(
            params=params, options={"idempotency_key": f"odex-checkout-{tenant_id}-{request_key}"}
        )
    )
    return str(session.url)


async def create_portal_session(customer_id: str, return_url: str, request_key: str) -> str:
    """A Customer Portal session (card, invoices, cancel); returns its URL."""
    if is_test_mode():
        return "/settings/billing/test-portal"
    session = await _call(
        _client().v1.billing_portal.sessions.create_async(
            params={"customer": customer_id, "return_url": return_url},
            options={"idempotency_key": f"odex-portal-{customer_id}-{request_key}"},
        )
    )
    return str(session.url)


# ---- subscriptions ----------------------------------------------------------------------


async def retrieve_subscription(subscription_id: str) -> StripeObject | None:
    """The subscription as Stripe has it now (None when Stripe does not know it)."""
    if is_test_mode():
        raw = await redis().get(TEST_SUB_PREFIX + subscription_id)
        return json.loads(raw) if raw else None
    try:
        sub = await _client().v1.subscriptions.retrieve_async(subscription_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return None
        raise BillingUnavailable(str(exc)) from exc
    except stripe.StripeError as exc:
        raise BillingUnavailable(str(exc)) from exc
    return _as_dict(sub)


async def cancel_subscription(subscription_id: str) -> None:
    """Cancel a subscription now (workspace deletion); a missing one counts as cancelled."""
    if is_test_mode():
        sub = await retrieve_subscription(subscription_id)
        if sub is not None:
            sub["status"] = "canceled"
            await save_test_subscription(sub)
        return
    await _remove(
        _client().v1.subscriptions.cancel_async(
            subscription_id, options={"idempotency_key": f"odex-cancel-{subscription_id}"}
        )
    )


async def delete_customer(customer_id: str) -> None:
    """Delete the Stripe customer (Stripe keeps only what the law requires of it)."""
    if is_test_mode():
        return
    await _remove(
        _client().v1.customers.delete_async(
            customer_id, options={"idempotency_key": f"odex-delete-{customer_id}"}
        )
    )


async def _remove(call: Awaitable[object]) -> None:
    """A cancel or delete at Stripe; what Stripe no longer has counts as removed."""
    try:
        await call
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise BillingUnavailable(str(exc)) from exc
    except stripe.StripeError as exc:
        raise BillingUnavailable(str(exc)) from exc


async def save_test_subscription(subscription: StripeObject) -> None:
    """Test mode's stand-in for Stripe's record of a subscription."""
    if not is_test_mode():
        raise BillingUnavailable("Simulated subscriptions exist only in test mode.")
    await redis().set(
        TEST_SUB_PREFIX + str(subscription["id"]), json.dumps(subscription), ex=TEST_SUB_TTL
    )
