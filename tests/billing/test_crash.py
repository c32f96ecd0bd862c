"""A worker killed in the middle of applying an event: nothing half-done, applied once later."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from arq.constants import default_queue_name, in_progress_key_prefix, job_key_prefix

from app.billing.jobs import apply_stripe_event, recover_stripe_events
from app.billing.services import start_checkout
from app.core.redis import redis
from tests.billing.fake_stripe import FakeStripe, deliver, event, invoice, subscription
from tests.billing.helpers import account, invoices, notices
from tests.helpers import Account, make_account


async def _forget_dead_workers_jobs() -> None:
    """Drop the jobs the killed worker held (arq would re-run them only after their timeout)."""
    async for key in redis().scan_iter(match=in_progress_key_prefix + "*"):
        found = key.decode()[len(in_progress_key_prefix) :]
        await redis().zrem(default_queue_name, found)
        await redis().delete(key, job_key_prefix + found)


async def test_worker_killed_mid_event_reprocesses_it_once(
    fake_stripe: FakeStripe, client: Any, raw_conn: Any, tenant_b: Account
) -> None:
    from app.accounts.services import load_current

    who = await make_account("Crash")
    owner = await load_current(who.user_id, who.tenant_id)
    assert owner is not None
    await start_checkout(owner, "pro")
    customer = (await account(who.tenant_id)).stripe_customer_id
    assert customer
    sub = subscription("sub_crash", customer, who.tenant_id)
    fake_stripe.set_subscription(sub)
    fake_stripe.hang_on.add("sub_crash")  # Stripe stalls while the job holds its transaction
    paid = invoice(sub, 2900, "paid")
    paid["subscription_details"] = {"metadata": {"tenant_id": str(who.tenant_id)}}
    evt = event("invoice.paid", paid)
    assert (await deliver(client, evt)).status_code == 200

    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.billing.crash_worker",
        env={**os.environ},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert await asyncio.to_thread(fake_stripe.hung.wait, 60), "the worker never ran the job"
        worker.kill()  # SIGKILL mid-event: no cleanup of any kind
        await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    fake_stripe.hang_on.clear()
    fake_stripe.release.set()

    # nothing of the half-applied event survived (the invoice row was written before the stall)
    row = await raw_conn.fetchrow("select processed_at from stripe_events where id = $1", evt["id"])
    assert row is not None and row["processed_at"] is None
    assert await invoices(who.tenant_id) == [] and await notices(who.tenant_id) == []
    assert (await account(who.tenant_id)).plan == "free"

    # the next worker's recovery applies it, once; arq's own retry of the dead job is a no-op
    await _forget_dead_workers_jobs()  # else later burst runs wait out its locks
    assert await recover_stripe_events({}, older_than_seconds=0) >= 1
    assert await apply_stripe_event({}, evt["id"]) == "already processed"
    assert await recover_stripe_events({}, older_than_seconds=0) == 0

    assert [s for _, s in await invoices(who.tenant_id)] == ["paid"]
    assert sorted(await notices(who.tenant_id)) == [
        "billing.payment_succeeded",
        "billing.plan_changed",
    ]
    assert (await account(who.tenant_id)).plan == "pro"
    assert await notices(tenant_b.tenant_id) == []
