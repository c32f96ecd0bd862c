"""Test mode (no Stripe keys): the page says so, and simulated Checkout and Portal actions
go through signed webhooks and the job like Stripe's would."""

from __future__ import annotations

from typing import Any

from app.billing import stripe_client
from tests.billing.helpers import account, invoices, notices
from tests.helpers import Account, Mailbox, run_jobs


async def test_simulated_checkout_failed_payment_grace_and_cancel(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, mailbox: Mailbox
) -> None:
    assert stripe_client.is_test_mode()
    page = (await client_a.get("/settings/billing")).text
    assert "Test mode" in page and 'id="current-plan">Free<' in page
    assert 'href="/settings/billing"' in page  # the nav link

    start = await client_a.post_form("/settings/billing/checkout", {"plan": "pro"})
    assert start.headers["location"] == "/settings/billing/test-checkout?plan=pro"
    checkout = (await client_a.get(start.headers["location"])).text
    assert "Simulate checkout" in checkout and "Test mode" in checkout
    done = await client_a.post_form("/settings/billing/test-checkout", {"plan": "pro"})
    assert done.headers["location"] == "/settings/billing?checkout=success&from=free"
    waiting = (await client_a.get(done.headers["location"])).text
    assert "confirming your new plan" in waiting  # the job has not run yet
    await run_jobs()
    await run_jobs()
    polled = await client_a.get(
        "/settings/billing/status?from=free", headers={"HX-Request": "true"}
    )
    assert polled.headers["hx-refresh"] == "true"  # confirmed: the whole page reloads
    page = (await client_a.get("/settings/billing?checkout=success&from=free")).text
    assert 'id="current-plan">Pro<' in page and "confirming" not in page
    assert "Plan changed to Pro" in page
    assert "Your last payment failed" not in page

    failed = await client_a.post_form("/settings/billing/test-portal", {"action": "payment_failed"})
    assert failed.status_code == 303
    await run_jobs()
    await run_jobs()
    page = (await client_a.get("/settings/billing")).text
    assert "Your last payment failed" in page and 'id="current-plan">Pro<' in page
    assert "moves to the Free plan" in page
    state = await account(tenant_a.tenant_id)
    assert state.status == "past_due" and state.grace_until is not None
    mail = [m for m in mailbox.to(tenant_a.email) if m["Subject"].startswith("Payment failed")]
    assert len(mail) == 1
    body = mail[0].get_payload(decode=True).decode()
    assert "/settings/billing" in body and "Update your card" in body

    await client_a.post_form("/settings/billing/test-portal", {"action": "payment_succeeded"})
    await run_jobs()
    assert "Your last payment failed" not in (await client_a.get("/settings/billing")).text

    await client_a.post_form("/settings/billing/test-portal", {"action": "cancel"})
    await run_jobs()
    page = (await client_a.get("/settings/billing")).text
    assert 'id="current-plan">Free<' in page and "Subscription cancelled" in page
    kinds = await notices(tenant_a.tenant_id)
    assert kinds.count("billing.plan_changed") == 1
    assert kinds.count("billing.payment_failed") == 1
    assert kinds.count("billing.subscription_cancelled") == 1

    # the other workspace is untouched
    assert 'id="current-plan">Free<' in (await client_b.get("/settings/billing")).text
    assert await notices(tenant_b.tenant_id) == []


async def test_the_page_reloads_only_once_the_whole_checkout_is_applied(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """The plan can change before the checkout's invoice is recorded (Stripe's events are
    applied one by one, by concurrent jobs): the page keeps waiting until all of them are in,
    so its one reload shows the plan and the invoice together."""
    from app.billing.jobs import apply_stripe_event
    from app.core.db import global_transaction

    done = await client_a.post_form("/settings/billing/test-checkout", {"plan": "pro"})
    assert done.headers["location"] == "/settings/billing?checkout=success&from=free"
    state = await account(tenant_a.tenant_id)
    async with global_transaction() as conn:
        events = await conn.fetch(
            "select id, type from stripe_events where processed_at is null"
            " and payload -> 'data' -> 'object' ->> 'customer' = $1 order by received_at",
            state.stripe_customer_id,
        )
    assert {e["type"] for e in events} >= {"customer.subscription.created", "invoice.paid"}
    for event in events:  # everything but the invoice, as a worker might get to them
        if event["type"] != "invoice.paid":
            await apply_stripe_event({}, event["id"])
    assert (await account(tenant_a.tenant_id)).plan == "pro"
    assert await invoices(tenant_a.tenant_id) == []
    status = "/settings/billing/status?from=free"
    polled = await client_a.get(status, headers={"HX-Request": "true"})
    assert polled.status_code == 204 and "hx-refresh" not in polled.headers  # not yet
    page = (await client_a.get(done.headers["location"])).text
    assert "confirming your new plan" in page and f'hx-get="{status}"' in page  # still polling
    await run_jobs()
    polled = await client_a.get(status, headers={"HX-Request": "true"})
    assert polled.headers["hx-refresh"] == "true"
    page = (await client_a.get(done.headers["location"])).text
    assert 'id="current-plan">Pro<' in page and "confirming" not in page
    assert "29.00 USD" in page and "Plan changed to Pro" in page
    assert 'id="current-plan">Free<' in (await client_b.get("/settings/billing")).text
    assert await invoices(tenant_b.tenant_id) == []


async def test_simulation_is_refused_without_a_subscription(client_a: Any) -> None:
    response = await client_a.post_form("/settings/billing/test-portal", {"action": "cancel"})
    assert response.status_code == 422
    assert "simulate a checkout first" in response.text


async def test_grace_end_is_announced_once_and_the_free_limits_apply(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, mailbox: Mailbox
) -> None:
    """A failed payment whose grace ran out: owners hear it once, the page says Free."""
    from app.billing.grace import announce_grace_end, announce_grace_ends
    from app.core.db import tenant_transaction

    await client_a.post_form("/settings/billing/test-checkout", {"plan": "pro"})
    await run_jobs()
    await run_jobs()
    await client_a.post_form("/settings/billing/test-portal", {"action": "payment_failed"})
    await run_jobs()
    await run_jobs()
    assert not await announce_grace_end(tenant_a.tenant_id)  # still inside the grace period
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("update billing_accounts set grace_until = now() - interval '1 hour'")
    assert await announce_grace_ends({}) >= 1
    assert await announce_grace_ends({}) == 0  # exactly once per lapse
    await run_jobs()
    kinds = await notices(tenant_a.tenant_id)
    assert kinds.count("billing.grace_ended") == 1
    subjects = [m["Subject"] for m in mailbox.to(tenant_a.email)]
    assert any(s.startswith("Your workspace is now on the Free plan") for s in subjects)
    assert "billing.grace_ended" not in await notices(tenant_b.tenant_id)
