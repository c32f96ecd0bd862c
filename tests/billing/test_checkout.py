"""Upgrade through Stripe Checkout, the Customer Portal and workspace deletion, against the
local fake Stripe API; the page shows the plan, usage, invoices and notices."""

from __future__ import annotations

from typing import Any

from app.billing.services import cancel_and_delete_customer
from app.core.errors import Forbidden
from tests.billing.fake_stripe import (
    PRICE_PRO,
    FakeStripe,
    deliver,
    event,
    invoice,
    session_completed,
    subscription,
)
from tests.billing.helpers import account, notices
from tests.helpers import Account, Mailbox, run_jobs


async def test_upgrade_through_checkout_then_portal(
    fake_stripe: FakeStripe,
    client: Any,
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
    mailbox: Mailbox,
) -> None:
    first = await client_a.post_form("/settings/billing/checkout", {"plan": "pro"})
    assert first.status_code == 303
    assert first.headers["location"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
    again = await client_a.post_form("/settings/billing/checkout", {"plan": "pro"}, htmx=True)
    assert again.headers["hx-redirect"].startswith("https://checkout.stripe.test/")

    customers = fake_stripe.calls("POST", "/v1/customers")
    assert len(customers) == 1  # the customer is created once per tenant
    assert customers[0]["params"]["metadata[tenant_id]"] == str(tenant_a.tenant_id)
    assert customers[0]["idempotency_key"] == f"odex-customer-{tenant_a.tenant_id}"
    sessions = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert len(sessions) == 2 and all(s["idempotency_key"] for s in sessions)
    assert sessions[0]["idempotency_key"] != sessions[1]["idempotency_key"]
    params = sessions[0]["params"]
    assert params["mode"] == "subscription"
    assert params["line_items[0][price]"] == PRICE_PRO
    assert params["metadata[tenant_id]"] == str(tenant_a.tenant_id)
    assert params["subscription_data[metadata][tenant_id]"] == str(tenant_a.tenant_id)
    assert params["client_reference_id"] == str(tenant_a.tenant_id)
    assert params["success_url"].endswith("/settings/billing?checkout=success&from=free")

    # Stripe reports the completed Checkout
    customer = (await account(tenant_a.tenant_id)).stripe_customer_id
    assert customer and customer.startswith("cus_")
    assert params["customer"] == customer
    sub = subscription("sub_a1", customer, tenant_a.tenant_id)
    fake_stripe.set_subscription(sub)
    for evt in (
        event("checkout.session.completed", session_completed(sub, tenant_a.tenant_id)),
        event("customer.subscription.created", sub),
        event("invoice.paid", invoice(sub, 2900, "paid")),
    ):
        response = await deliver(client, evt)
        assert response.status_code == 200
    await run_jobs()
    await run_jobs()  # the notices' mail

    page = (await client_a.get("/settings/billing")).text
    assert 'id="current-plan">Pro<' in page
    assert "Plan changed to Pro" in page and "Payment received" in page
    assert "29.00 USD" in page and "Paid" in page
    assert "Test mode" not in page
    subjects = [m["Subject"] for m in mailbox.to(tenant_a.email)]
    assert any(s.startswith("Plan changed to Pro") for s in subjects)
    assert any(s.startswith("Payment received") for s in subjects)

    other = (await client_b.get("/settings/billing")).text
    assert 'id="current-plan">Free<' in other and "Payment received" not in other
    assert await notices(tenant_b.tenant_id) == []

    # changing plan while subscribed goes to the portal, as does "Manage card"
    portal = await client_a.post_form("/settings/billing/portal")
    assert portal.headers["location"].startswith("https://billing.stripe.test/p/session/")
    switch = await client_a.post_form("/settings/billing/checkout", {"plan": "business"})
    assert switch.headers["location"].startswith("https://billing.stripe.test/")
    portals = fake_stripe.calls("POST", "/v1/billing_portal/sessions")
    assert [p["params"]["customer"] for p in portals] == [customer, customer]
    assert len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 2

    # workspace deletion cancels the subscription and deletes the customer (twice is safe)
    await cancel_and_delete_customer(tenant_a.tenant_id)
    await cancel_and_delete_customer(tenant_a.tenant_id)
    assert fake_stripe.subscriptions["sub_a1"]["status"] == "canceled"
    assert len(fake_stripe.calls("DELETE", f"/v1/customers/{customer}")) == 1
    assert [c["path"] for c in fake_stripe.calls("DELETE", "/v1/subscriptions/")] == [
        "/v1/subscriptions/sub_a1"
    ]
    state = await account(tenant_a.tenant_id)
    assert state.plan == "free" and state.stripe_customer_id is None


async def test_members_cannot_change_the_plan(fake_stripe: FakeStripe, tenant_a: Account) -> None:
    import msgspec
    import pytest

    from app.accounts.services import load_current
    from app.billing.services import open_portal, start_checkout

    owner = await load_current(tenant_a.user_id, tenant_a.tenant_id)
    assert owner is not None
    member = msgspec.structs.replace(owner, role="member")
    with pytest.raises(Forbidden, match="owners and admins"):
        await start_checkout(member, "pro")
    with pytest.raises(Forbidden, match="owners and admins"):
        await open_portal(member)
    assert fake_stripe.requests == []
