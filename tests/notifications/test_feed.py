"""The notifications page pages through older items; another tenant's never appear."""

from __future__ import annotations

import html
import re
from typing import Any

from app.core.db import tenant_transaction
from app.notifications.services import notify
from tests.helpers import Account


async def test_notifications_page_paginates_and_stays_in_its_tenant(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    async with tenant_transaction(tenant_a.tenant_id):
        for i in range(55):
            await notify(tenant_a.tenant_id, tenant_a.user_id, "mention", f"Ping number {i:02d}")
    async with tenant_transaction(tenant_b.tenant_id):
        await notify(tenant_b.tenant_id, tenant_b.user_id, "mention", "B only")
    first = html.unescape((await client_a.get("/notifications")).text)
    assert first.count("Ping number") == 50 and "B only" not in first
    older = re.search(r'href="(/notifications\?before=[^"]+)"', first)
    assert older, "no link to older notifications"
    second = html.unescape((await client_a.get(older.group(1))).text)
    assert second.count("Ping number") == 5
    assert not re.search(r'href="/notifications\?before=', second)
    shown = set(re.findall(r"Ping number \d\d", first + second))
    assert len(shown) == 55  # nothing skipped or repeated across pages
    mangled = await client_a.get("/notifications?before=garbage")
    assert mangled.status_code == 200
    b_page = html.unescape((await client_b.get("/notifications")).text)
    assert "B only" in b_page and "Ping number" not in b_page
