"""An admin watches security alerts live while a colleague signs in from a new browser, and
signs that session out with one click (Chromium, the real app and worker as subprocesses)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from tests.e2e.conftest import LiveServer
from tests.helpers import make_account
from tests.security.helpers import CHROME, FIREFOX, add_member

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


async def _log_in(page: Any, server: LiveServer, email: str, password: str) -> None:
    await page.goto(f"{server.url}/login")
    await page.fill("#f-email", email)
    await page.fill("#f-password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server.url}/app")


async def _wait_for_subscriber(redis_url: str, channel: str) -> None:
    """Until the admin's socket listens on the channel (no fixed sleeps)."""
    client = Redis.from_url(redis_url)
    try:
        for _ in range(200):
            counts = dict(await client.pubsub_numsub(channel))
            if counts.get(channel.encode(), 0) > 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"nobody subscribed to {channel}")
    finally:
        await client.aclose()


async def test_admin_sees_live_alert_and_revokes_the_session(
    app: Any, browser: Any, live_server: LiveServer, services: dict[str, str]
) -> None:
    SHOTS.mkdir(exist_ok=True)
    owner = await make_account("Alerts")
    colleague = await add_member(owner, role="member")
    errors: list[str] = []

    usual_ctx = await browser.new_context(user_agent=FIREFOX)  # the colleague's usual browser
    usual = await usual_ctx.new_page()
    await _log_in(usual, live_server, colleague.email, colleague.password)

    admin_ctx = await browser.new_context(viewport={"width": 1280, "height": 860})
    admin = await admin_ctx.new_page()
    admin.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    admin.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
    seen: list[str] = []  # what the admin's page asked and got: said when a wait fails
    admin.on("response", lambda r: seen.append(f"{r.request.method} {r.url} {r.status}"))
    await _log_in(admin, live_server, owner.email, owner.password)
    await admin.goto(f"{live_server.url}/settings/alerts")
    assert "No security alerts" in await admin.content()
    await _wait_for_subscriber(services["REDIS_URL"], f"alerts:{owner.tenant_id}")

    new_ctx = await browser.new_context(user_agent=CHROME)  # a browser never seen before
    newcomer = await new_ctx.new_page()
    await _log_in(newcomer, live_server, colleague.email, colleague.password)

    card = admin.locator(".alert-card").first
    await card.wait_for(timeout=15_000)  # arrives over the websocket: no reload
    text = await card.inner_text()
    assert "signed in from a new device or network" in text and colleague.email in text
    assert "Chrome on macOS" in text
    toast = admin.locator("#toasts .toast", has_text="Security alert")
    await toast.first.wait_for(timeout=5_000)
    assert await admin.locator("#alert-empty").count() == 0
    await admin.screenshot(path=str(SHOTS / "security-alert.png"), full_page=True)

    await card.get_by_role("button", name="Revoke session").click()
    try:
        await admin.locator(".alert-card", has_text="Session signed out").wait_for(timeout=10_000)
    except Exception as exc:
        cards = await admin.locator("#alert-list").inner_html()
        raise AssertionError(f"no signed-out card\n{seen[-15:]}\n{errors}\n{cards}") from exc

    await newcomer.goto(f"{live_server.url}/app")
    await newcomer.wait_for_url(f"{live_server.url}/login**")  # that session is gone
    await usual.goto(f"{live_server.url}/app")
    assert usual.url == f"{live_server.url}/app"  # the colleague's usual browser stays in
    assert not [e for e in errors if "Content Security Policy" in e], errors
    for ctx in (usual_ctx, admin_ctx, new_ctx):
        await ctx.close()
