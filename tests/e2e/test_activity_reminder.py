"""A due reminder arrives live: the assignee has the notifications page open when their call
falls due, and the reminder appears in the feed and the bell without a reload (Chromium, the
real app and worker as subprocesses)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from app.core.db import tenant_transaction
from app.crm.reminders import send_due_reminders
from tests.e2e.conftest import LiveServer
from tests.helpers import make_account

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


async def subscribed(redis_url: str, channel: str) -> None:
    """Until the page's socket listens on `channel` (no fixed sleeps)."""
    client = Redis.from_url(redis_url)
    try:
        for _ in range(200):
            if dict(await client.pubsub_numsub(channel)).get(channel.encode(), 0) > 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"nobody subscribed to {channel}")
    finally:
        await client.aclose()


async def test_a_due_reminder_arrives_live_in_the_feed(
    app: Any, browser: Any, live_server: LiveServer, services: dict[str, str]
) -> None:
    SHOTS.mkdir(exist_ok=True)
    person = await make_account("Reminded")
    errors: list[str] = []
    ctx = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(f"{live_server.url}/login")
    await page.fill("#f-email", person.email)
    await page.fill("#f-password", person.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/app")

    # plan a call on a new company through the record page
    await page.goto(f"{live_server.url}/companies/new")
    await page.fill("#f-name", "Prestige Worldwide")
    await page.click("#main form button[type=submit]")
    await page.wait_for_url(re.compile(r".*/companies/[0-9a-f-]{36}$"))
    company_url = page.url
    await page.select_option("#a-kind", "call")
    await page.fill("#a-title", "Call Brennan about the boats")
    await page.fill("#a-due_at", "2031-06-01T09:30")
    await page.click(".activity-form button[type=submit]")
    await page.locator("#main .task", has_text="Call Brennan about the boats").wait_for()
    assert page.url == company_url

    await page.goto(f"{live_server.url}/notifications")
    await subscribed(services["REDIS_URL"], f"feed:{person.user_id}")
    assert await page.locator(".bell-count").count() == 0

    # the call falls due (its time moved into the past), and the reminder job runs
    async with tenant_transaction(person.tenant_id) as conn:
        await conn.execute(
            "update tasks set due_at = $1 where title = 'Call Brennan about the boats'",
            datetime.now(UTC) - timedelta(seconds=5),
        )
    await send_due_reminders(None)

    item = page.locator(f"#notification-list-{person.tenant_id}", has_text="Due now: Call Brennan")
    await item.wait_for(timeout=15_000)  # over the websocket: no reload
    await page.locator(".bell-count", has_text="1").wait_for(timeout=5_000)
    text = await item.inner_text()
    assert "Call on Prestige Worldwide" in text
    await page.screenshot(path=str(SHOTS / "activity-reminder.png"), full_page=True)

    await send_due_reminders(None)  # again: nothing more
    async with tenant_transaction(person.tenant_id) as conn:
        count = await conn.fetchval("select count(*) from notifications where kind = 'reminder'")
        mails = await conn.fetchval(
            "select count(*) from outbox where kind = 'reminder' and to_addr = $1", person.email
        )
    assert count == 1 and mails == 1
    assert not errors, errors
    await ctx.close()
