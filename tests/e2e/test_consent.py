"""Cookie consent in Chromium: reject → no analytics; accept → events; withdraw → they stop."""

from __future__ import annotations

import asyncio
from typing import Any

from app.core.redis import redis
from app.privacy.usage import INFLIGHT_KEY, LOCK_KEY, QUEUE_KEY, flush_usage_events
from tests.e2e.conftest import LiveServer


async def _names(context: Any) -> list[str]:
    return sorted(c["name"] for c in await context.cookies())


async def _drained() -> None:
    """Flush the usage queue until nothing is queued, in flight or being flushed elsewhere (the
    live server's worker flushes on its own cron: while it holds the lock ours does nothing)."""
    client = redis()
    for _ in range(100):
        await flush_usage_events()
        busy = await client.exists(LOCK_KEY, INFLIGHT_KEY) + await client.llen(QUEUE_KEY)  # type: ignore[misc]
        if not busy:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the usage queue never drained")


async def _analytics_events(
    raw_conn: Any, analytics_id: str | None = None, at_least: int = 0
) -> int:
    """Analytics events stored so far (of one visitor id), once the queue has drained; with
    `at_least`, wait up to 10 s for that many (events are queued after each response)."""
    for _ in range(50):
        await _drained()
        if analytics_id is None:
            count = await raw_conn.fetchval(
                "select count(*) from visitor_events where category = 'analytics'"
            )
        else:
            count = await raw_conn.fetchval(
                "select count(*) from visitor_events where analytics_id = $1", analytics_id
            )
        if int(count) >= at_least:
            return int(count)
        await asyncio.sleep(0.2)
    return int(count)


async def test_reject_accept_withdraw(
    app: Any, browser: Any, live_server: LiveServer, raw_conn: Any
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(f"{live_server.url}/login")
    assert await _names(context) == ["odex_session"]  # only the essential cookie
    banner = page.locator("#cookie-banner")
    await banner.wait_for(state="visible")
    buttons = banner.locator(".consent-btn")
    assert await buttons.all_inner_texts() == ["Accept analytics", "Reject", "Preferences"]

    before = await _analytics_events(raw_conn)
    await banner.get_by_role("button", name="Reject").click()
    await banner.wait_for(state="detached")
    await page.goto(f"{live_server.url}/privacy")
    await page.goto(f"{live_server.url}/signup")
    assert await page.locator("#cookie-banner").count() == 0  # the choice is remembered
    assert await _names(context) == ["odex_session"]
    assert await _analytics_events(raw_conn) == before

    await page.goto(f"{live_server.url}/settings/cookies")
    await page.get_by_role("button", name="Allow analytics").click()
    await page.wait_for_selector("text=analytics allowed")
    assert await _names(context) == ["odex_analytics", "odex_session"]
    analytics_id = next(
        c["value"] for c in await context.cookies() if c["name"] == "odex_analytics"
    )
    await page.goto(f"{live_server.url}/privacy")
    await page.goto(f"{live_server.url}/login")
    await page.goto(f"{live_server.url}/settings/cookies")
    # /settings/cookies (after the redirect), /privacy, /login, this page: each is queued
    # after its response, so wait for all four (waiting for three raced the last one)
    seen = await _analytics_events(raw_conn, analytics_id, at_least=4)
    assert seen == 4

    await page.get_by_role("button", name="Withdraw consent").click()
    await page.wait_for_selector("text=analytics off")
    assert await _names(context) == ["odex_session"]  # deleted at once
    await page.goto(f"{live_server.url}/privacy")
    await page.goto(f"{live_server.url}/login")
    assert await _analytics_events(raw_conn, analytics_id) == seen  # stopped
    assert not errors, errors
    await context.close()


async def test_usage_dashboard_draws_charts_under_the_csp(
    app: Any, browser: Any, live_server: LiveServer
) -> None:
    from tests.helpers import make_account

    owner = await make_account("Charts")
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(f"{live_server.url}/login")
    await page.locator("#cookie-banner").get_by_role("button", name="Accept analytics").click()
    await page.wait_for_selector("text=Analytics cookies allowed")  # the page has reloaded
    await page.fill("#f-email", owner.email)
    await page.fill("#f-password", owner.password)
    await page.locator("form[action='/login'] button[type=submit]").click()
    await page.wait_for_url(f"{live_server.url}/app")
    await page.goto(f"{live_server.url}/settings/profile")
    await flush_usage_events()
    await page.goto(f"{live_server.url}/settings/usage")
    await page.wait_for_function("document.querySelectorAll('canvas[data-drawn]').length >= 2")
    assert await page.locator("#usage-pages").inner_text() != ""
    assert not errors, errors  # no CSP violation from Chart.js or our script
    await context.close()
