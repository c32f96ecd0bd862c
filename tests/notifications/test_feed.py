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


def _count(bell_html: str) -> int:
    found = re.search(r"Notifications: (\d+) unread", bell_html)
    assert found is not None, bell_html
    return int(found.group(1))


async def test_opening_the_linked_page_reads_the_notification(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """However the user reaches the record (the feed, a mail, the address bar), the page's bell
    marks the notifications that point to it read; other pages, users and tenants untouched."""
    await client_a.post_form("/notifications/read-all", {})
    await client_b.post_form("/notifications/read-all", {})
    async with tenant_transaction(tenant_a.tenant_id):
        await notify(tenant_a.tenant_id, tenant_a.user_id, "mention", "Deal one", link="/deals/1")
        await notify(tenant_a.tenant_id, tenant_a.user_id, "mention", "Deal two", link="/deals/2")
    async with tenant_transaction(tenant_b.tenant_id):
        await notify(tenant_b.tenant_id, tenant_b.user_id, "mention", "B deal", link="/deals/1")
    htmx = {"HX-Request": "true"}
    elsewhere = await client_a.get(
        "/notifications/bell", headers={**htmx, "HX-Current-URL": "http://test/contacts"}
    )
    assert _count(elsewhere.text) == 2
    opened = await client_a.get(
        "/notifications/bell", headers={**htmx, "HX-Current-URL": "http://test/deals/1"}
    )
    assert _count(opened.text) == 1
    hostile = await client_a.get(
        "/notifications/bell", headers={**htmx, "HX-Current-URL": "http://x/%00\x7f"}
    )
    assert hostile.status_code == 200 and _count(hostile.text) == 1
    page = html.unescape((await client_a.get("/notifications")).text)
    assert "Deal two" in page
    b_bell = await client_b.get("/notifications/bell", headers=htmx)
    assert _count(b_bell.text) == 1  # B's notification on the same path is B's to read
    await client_a.post_form("/notifications/read-all", {})
    assert _count((await client_a.get("/notifications/bell")).text) == 0
