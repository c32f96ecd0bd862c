"""A new company signs up, verifies by the mailed link and invites a colleague, in Chromium."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.e2e.conftest import LiveServer, wait_for_mail
from tests.helpers import PASSWORD

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


async def test_signup_verify_invite_and_isolation(
    browser: Any, live_server: LiveServer, mailbox: Any
) -> None:
    SHOTS.mkdir(exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    owner_email, colleague = f"founder-{tag}@example.com", f"colleague-{tag}@example.com"
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 404 else None)

    await page.goto(f"{live_server.url}/signup")
    await page.screenshot(path=str(SHOTS / "signup.png"))
    # bad input first: the error shows inline and what was typed stays
    await page.fill("#f-name", "Grace Hopper")
    await page.fill("#f-email", "not-an-email")
    await page.fill("#f-company", f"Compiler Co {tag}")
    await page.fill("#f-password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector(".invalid-feedback")
    assert "valid email" in await page.inner_text(".invalid-feedback")
    assert await page.input_value("#f-name") == "Grace Hopper"
    await page.fill("#f-email", owner_email)
    await page.fill("#f-password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/app")
    assert "Verify your email address" in await page.content()

    # before consent only the essential ones: the session and, once signed in, the trusted-
    # device token that lets the owner past a lockout an attacker caused
    cookies = await context.cookies()
    assert sorted(c["name"] for c in cookies) == ["odex_device", "odex_session"]
    assert all(c["httpOnly"] and c["sameSite"] == "Lax" for c in cookies)

    link = await wait_for_mail(mailbox, owner_email, "/verify")
    await page.goto(live_server.url + link)
    await page.wait_for_url(f"{live_server.url}/app")
    assert "Verify your email address" not in await page.content()
    await page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

    await page.goto(f"{live_server.url}/settings/team")
    await page.fill("#f-email", colleague)
    await page.select_option("#f-role", "admin")
    await page.click("text=Send invitation")
    await page.wait_for_selector(f"text={colleague}")
    await page.screenshot(path=str(SHOTS / "team.png"), full_page=True)

    invite = await wait_for_mail(mailbox, colleague, "/invite/accept")
    other = await browser.new_context()
    guest = await other.new_page()
    await guest.goto(live_server.url + invite)
    await guest.fill("#f-name", "Katherine Johnson")
    await guest.fill("#f-password", PASSWORD)
    await guest.click("button[type=submit]")
    await guest.wait_for_url(f"{live_server.url}/app")
    assert f"Compiler Co {tag}" in await guest.content()

    # a second company signed up beside them sees none of the first's data
    third = await browser.new_context()
    stranger = await third.new_page()
    await stranger.goto(f"{live_server.url}/signup")
    await stranger.fill("#f-name", "Other Founder")
    await stranger.fill("#f-email", f"other-{tag}@example.com")
    await stranger.fill("#f-company", f"Other Inc {tag}")
    await stranger.fill("#f-password", PASSWORD)
    await stranger.click("button[type=submit]")
    await stranger.wait_for_url(f"{live_server.url}/app")
    await stranger.goto(f"{live_server.url}/settings/team")
    content = await stranger.content()
    assert owner_email not in content and colleague not in content
    assert f"Compiler Co {tag}" not in content
    assert not [e for e in errors if "Content Security Policy" in e], errors
    for ctx in (context, other, third):
        await ctx.close()
