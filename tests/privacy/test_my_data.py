"""Right of access: the my-data page shows everything held about the user, nothing of others."""

from __future__ import annotations

from typing import Any

from app.core.db import tenant_transaction
from app.notifications.services import notify
from app.privacy.usage import flush_usage_events
from tests.helpers import Account


async def test_my_data_shows_everything_and_nothing_else(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    async with tenant_transaction(tenant_a.tenant_id):
        await notify(tenant_a.tenant_id, tenant_a.user_id, "test", "Hello from the feed A")
    async with tenant_transaction(tenant_b.tenant_id):
        await notify(tenant_b.tenant_id, tenant_b.user_id, "test", "Hello from the feed B")
    await client_a.post_form("/privacy/consent", {"choice": "accept", "next": "/app"})
    await client_a.get("/app")
    await client_b.get("/app")
    await flush_usage_events()
    page = await client_a.get("/settings/my-data")
    assert page.status_code == 200
    text = page.text
    for expected in (
        tenant_a.email,
        tenant_a.name,
        tenant_a.company,
        "owner since",
        "this browser",  # the current session
        "granted (analytics)",
        "analytics: page",
        "security: login",
        "Hello from the feed A",
        "Billing details we hold",
    ):
        assert expected in text, expected
    for other in (tenant_b.email, tenant_b.company, "Hello from the feed B"):
        assert other not in text
    assert "password_hash" not in text and "$argon2" not in text
