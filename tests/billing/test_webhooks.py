"""The webhook endpoint and its job: signatures, storage, duplicates, order, isolation."""

from __future__ import annotations

import json
import random
import time
from typing import Any

from app.billing.services import start_checkout
from tests.billing.fake_stripe import (
    PRICE_BUSINESS,
    FakeStripe,
    deliver,
    event,
    invoice,
    session_completed,
    signed,
    subscription,
)
from tests.billing.helpers import account, comparable, invoices, notices
from tests.helpers import Account, make_account, run_jobs


async def _stored(raw_conn: Any, event_id: str) -> int:
    return int(
        await raw_conn.fetchval("select count(*) from stripe_events where id = $1", event_id)
    )


async def test_forged_stale_or_unsigned_events_are_refused_and_not_stored(
    fake_stripe: FakeStripe, client: Any, raw_conn: Any, tenant_a: Account
) -> None:
    evt = event("invoice.paid", {"id": "in_x", "object": "invoice", "customer": "cus_x"})
    forged = await deliver(client, evt, secret="whsec_someone_else")
    payload = json.dumps(evt)
    stale = await client.post(
        "/billing/webhook",
        content=payload,
        headers={"Stripe-Signature": signed(payload, timestamp=int(time.time()) - 301)},
    )
    unsigned = await client.post("/billing/webhook", content=payload)
    tampered = await client.post(
        "/billing/webhook",
        content=payload.replace("in_x", "in_y"),
        headers={"Stripe-Signature": signed(payload)},
    )
    assert [r.status_code for r in (forged, stale, unsigned, tampered)] == [400] * 4
    assert await _stored(raw_conn, evt["id"]) == 0
    ok = await deliver(client, evt)  # the same event, properly signed, is accepted
    assert ok.status_code == 200 and await _stored(raw_conn, evt["id"]) == 1
    assert "set-cookie" not in ok.headers  # no session is made for Stripe's calls


async def _subscribe(fake: FakeStripe, who: Account, sub_id: str) -> dict[str, Any]:
    """Checkout through the app (creates the customer at the fake) and a subscription."""
    current = await _current(who)
    await start_checkout(current, "pro")
    customer = (await account(who.tenant_id)).stripe_customer_id
    assert customer
    sub = subscription(sub_id, customer, who.tenant_id)
    fake.set_subscription(sub)
    return sub


async def _current(who: Account) -> Any:
    from app.accounts.services import load_current

    return await load_current(who.user_id, who.tenant_id)


def _journey(sub: dict[str, Any], tenant_id: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(event, Stripe's subscription after it): upgrade, switch, a failed then a paid renewal."""
    t0 = int(time.time()) - 600
    business = dict(sub, items={"data": [{"price": {"id": PRICE_BUSINESS}}]})
    failing = dict(business, status="past_due")
    steps = [
        (event("checkout.session.completed", session_completed(sub, tenant_id), t0), sub),
        (event("customer.subscription.created", sub, t0 + 1), sub),
        (event("invoice.paid", invoice(sub, 2900, "paid", "in_first"), t0 + 2), sub),
        (event("customer.subscription.updated", business, t0 + 3), business),
        (event("invoice.payment_failed", invoice(sub, 9900, "open", "in_renew"), t0 + 4), failing),
        (event("customer.subscription.updated", failing, t0 + 5), failing),
        (event("invoice.paid", invoice(sub, 9900, "paid", "in_renew"), t0 + 6), business),
        (event("customer.subscription.updated", business, t0 + 7), business),
    ]
    return steps


async def test_duplicate_and_reordered_deliveries_end_like_a_clean_run(
    fake_stripe: FakeStripe, client: Any, raw_conn: Any, tenant_b: Account
) -> None:
    clean, shuffled = await make_account("Clean"), await make_account("Shuffled")

    # clean run: one delivery at a time, Stripe's state moving along with the events
    sub = await _subscribe(fake_stripe, clean, "sub_clean")
    for evt, stripe_now in _journey(sub, clean.tenant_id):
        fake_stripe.set_subscription(stripe_now)
        assert (await deliver(client, evt)).status_code == 200
        await run_jobs()

    # the same journey delivered late, in random order, every event twice
    sub2 = await _subscribe(fake_stripe, shuffled, "sub_shuffled")
    steps = _journey(sub2, shuffled.tenant_id)
    fake_stripe.set_subscription(steps[-1][1])  # Stripe already has the final state
    deliveries = [evt for evt, _ in steps] * 2
    random.Random(6).shuffle(deliveries)
    for evt in deliveries:
        assert (await deliver(client, evt)).status_code == 200
    await run_jobs()
    for evt in deliveries[:3]:  # and a redelivery after processing changes nothing
        await deliver(client, evt)
    await run_jobs()

    a, b = await account(clean.tenant_id), await account(shuffled.tenant_id)
    assert comparable(a) == comparable(b)
    assert comparable(a)["plan"] == "business" and a.status == "active" and not a.grace_until
    assert [s for _, s in await invoices(clean.tenant_id)] == ["paid", "paid"]
    assert [s for _, s in await invoices(shuffled.tenant_id)] == ["paid", "paid"]
    ids = [evt["id"] for evt in deliveries]
    stored = await raw_conn.fetchval(
        "select count(*) from stripe_events where id = any($1::text[])", ids
    )
    assert stored == len(steps)  # each event stored once under its id
    assert (
        await raw_conn.fetchval(
            "select count(*) from stripe_events where id = any($1::text[])"
            " and processed_at is null",
            ids,
        )
        == 0
    )
    # the shuffled run announced the upgrade once, and both payments once each
    kinds = await notices(shuffled.tenant_id)
    assert kinds.count("billing.plan_changed") == 1
    assert kinds.count("billing.payment_succeeded") == 2
    # the other tenant saw none of it
    assert (await account(tenant_b.tenant_id)).plan == "free"
    assert await notices(tenant_b.tenant_id) == [] and await invoices(tenant_b.tenant_id) == []


async def test_an_older_event_never_overwrites_newer_state(
    fake_stripe: FakeStripe, client: Any
) -> None:
    who = await make_account("Order")
    sub = await _subscribe(fake_stripe, who, "sub_order")
    fake_stripe.subscriptions.clear()  # Stripe can't be asked: only the events' copies count
    now = int(time.time())
    newer = dict(sub, items={"data": [{"price": {"id": PRICE_BUSINESS}}]})
    await deliver(client, event("customer.subscription.updated", newer, now))
    await run_jobs()
    await deliver(client, event("customer.subscription.updated", sub, now - 60))  # late, older
    await run_jobs()
    state = await account(who.tenant_id)
    assert state.plan == "business" and state.stripe_price_id == PRICE_BUSINESS


async def test_events_for_another_workspaces_customer_change_nothing(
    fake_stripe: FakeStripe, client: Any, tenant_a: Account, tenant_b: Account
) -> None:
    sub = await _subscribe(fake_stripe, tenant_a, "sub_owner_a")
    # an event naming A's customer but claiming B's tenant in metadata is not applied to B
    forged_meta = dict(sub, metadata={"tenant_id": str(tenant_b.tenant_id)})
    await deliver(client, event("customer.subscription.created", forged_meta))
    await run_jobs()
    assert (await account(tenant_b.tenant_id)).plan == "free"
    assert (await account(tenant_a.tenant_id)).plan == "free"
    assert await notices(tenant_b.tenant_id) == []


async def test_trial_ending_and_cancellation_notices_once_each(
    fake_stripe: FakeStripe, client: Any, mailbox: Any
) -> None:
    who = await make_account("Trial")
    sub = await _subscribe(fake_stripe, who, "sub_trial")
    trialing = dict(sub, status="trialing", trial_end=int(time.time()) + 3 * 86400)
    fake_stripe.set_subscription(trialing)
    created = event("customer.subscription.created", trialing)
    ending = event("customer.subscription.trial_will_end", trialing)
    for evt in (created, ending, ending):
        await deliver(client, evt)
    await run_jobs()
    ended = dict(trialing, status="canceled")
    fake_stripe.set_subscription(ended)
    await deliver(client, event("customer.subscription.deleted", ended))
    await run_jobs()
    await run_jobs()  # mail
    assert await notices(who.tenant_id) == [
        "billing.plan_changed",
        "billing.trial_ending",
        "billing.subscription_cancelled",
    ]
    assert (await account(who.tenant_id)).effective_plan().key == "free"
    subjects = [m["Subject"] for m in mailbox.to(who.email)]
    assert sum(s.startswith("Your trial ends soon") for s in subjects) == 1
    assert sum(s.startswith("Subscription cancelled") for s in subjects) == 1
