"""A workspace upgrades to Pro in test mode (no Stripe keys) and sees the plan and the notice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import LiveServer
from tests.helpers import Account

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


async def _login(browser: Any, live_server: LiveServer, who: Account) -> Any:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server.url}/login")
    await page.fill("#f-email", who.email)
    await page.fill("#f-password", who.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/app")
    return page


async def test_upgrade_in_test_mode_shows_plan_and_notice(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    SHOTS.mkdir(exist_ok=True)
    page = await _login(browser, live_server, tenant_a)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    billing_link = page.locator("nav a[href='/settings/billing']")
    if not await billing_link.is_visible():  # the nav's settings group may be folded
        await page.locator("nav details:has(a[href='/settings/billing']) > summary").click()
    await billing_link.click()
    await page.wait_for_url(f"{live_server.url}/settings/billing")
    assert await page.inner_text("#current-plan") == "Free"
    assert await page.is_visible("#test-mode-badge")
    assert "Test mode" in await page.inner_text("main")

    await page.click("button:has-text('Upgrade to Pro')")
    await page.wait_for_url("**/settings/billing/test-checkout?plan=pro")
    await page.click("button:has-text('Simulate checkout')")
    await page.wait_for_url("**/settings/billing?checkout=success*")
    # the worker applies the signed events; the page polls until the plan changed
    await page.wait_for_selector("#current-plan:text-is('Pro')", timeout=30_000)
    await page.wait_for_selector("#billing-notices >> text=Plan changed to Pro", timeout=30_000)
    # the plan can show before the last of the checkout's events is applied: the summary keeps
    # polling until none is left, then drops its "confirming" line
    confirming = page.locator("#billing-summary", has_text="confirming your new plan")
    await confirming.wait_for(state="detached", timeout=30_000)
    await page.wait_for_selector("#invoices >> text=29.00 USD", timeout=30_000)  # page reloaded
    await page.screenshot(path=str(SHOTS / "billing-upgraded.png"), full_page=True)
    # (htmx reports notifications' live list item as "no target" on pages without that list)
    assert [e for e in errors if e != "htmx:oobErrorNoTarget"] == [], errors

    # the other workspace is still on Free, with no notices
    other = await _login(browser, live_server, tenant_b)
    await other.goto(f"{live_server.url}/settings/billing")
    assert await other.inner_text("#current-plan") == "Free"
    assert await other.locator("#billing-notices").count() == 0
