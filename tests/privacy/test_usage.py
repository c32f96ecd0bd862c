"""Usage data: admin dashboard, retention purge, a flush that survives a dead worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from app.core.db import tenant_transaction
from app.core.redis import redis
from app.privacy import usage
from tests.helpers import Account, browser_client
from tests.privacy.seed import add_member


async def test_dashboard_for_admins_only(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account
) -> None:
    await client_a.post_form("/privacy/consent", {"choice": "accept", "next": "/app"})
    await client_a.get("/settings/profile")
    await client_a.post_form("/settings/company", {"company": "Renamed Co"})
    await client_b.post_form("/privacy/consent", {"choice": "accept", "next": "/app"})
    await client_b.get("/settings/team")
    await usage.flush_usage_events()
    page = await client_a.get("/settings/usage")
    assert page.status_code == 200
    assert "/static/vendor/chart.umd.min.js" in page.text and "usage-charts.js" in page.text
    assert "/settings/profile" in page.text and "POST /settings/company" in page.text
    assert 'id="usage-active"' in page.text
    assert "/settings/team" not in page.text.split('id="usage-pages"')[1].split("</table>")[0]
    _, email = await add_member(tenant_a.tenant_id)
    async with browser_client(app) as member:
        await member.login(email, "correct horse battery staple")
        assert (await member.get("/settings/usage")).status_code == 403


async def test_retention_purge(tenant_a: Account, tenant_b: Account) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    for account in (tenant_a, tenant_b):
        async with tenant_transaction(account.tenant_id) as conn:
            for when in (old, datetime.now(UTC)):
                await conn.execute(
                    "insert into usage_events (id, tenant_id, user_id, category, kind, path, "
                    "created_at) values ($1, $2, $3, 'analytics', 'page', '/x', $4)",
                    uuid.uuid4(), account.tenant_id, account.user_id, when,
                )  # fmt: skip
    assert await usage.purge_expired_usage(force=True) >= 2
    for account in (tenant_a, tenant_b):
        async with tenant_transaction(account.tenant_id) as conn:
            rows = await conn.fetch("select created_at from usage_events where path = '/x'")
        assert len(rows) == 1 and rows[0]["created_at"] > old + timedelta(days=1)


async def test_flush_recovers_a_batch_left_in_flight(tenant_a: Account) -> None:
    event = usage.Event(
        category="analytics", kind="page", tenant_id=str(tenant_a.tenant_id),
        user_id=str(tenant_a.user_id), path="/in-flight",
    )  # fmt: skip
    raw = msgspec.json.encode(event)
    await redis().rpush(usage.INFLIGHT_KEY, raw, raw)  # a worker died after taking the batch
    await usage.flush_usage_events()
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert (
            await conn.fetchval("select count(*) from usage_events where path = '/in-flight'") == 1
        )  # once, although delivered twice
    assert await redis().llen(usage.INFLIGHT_KEY) == 0
