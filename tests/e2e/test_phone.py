"""Phone (390 x 844): every main page fits the screen (no sideways scroll of the page), the
navigation is collapsed behind a menu button, the board swipes one stage at a time."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer, idle
from tests.e2e.test_accessibility import PUBLIC, SIGNED_IN
from tests.e2e.test_history import _seed
from tests.helpers import Account

PHONE = {"width": 390, "height": 844}


async def _overflow(page: Any) -> list[str]:
    """The page's own sideways overflow and the elements that stick out of the screen
    (content inside a scroll container of its own, like the board, is fine)."""
    return list(
        await page.evaluate(
            """() => {
              const root = document.documentElement, w = root.clientWidth, out = [];
              if (root.scrollWidth > w) out.push('page ' + root.scrollWidth);
              const scrolls = el => {
                for (let p = el.parentElement; p; p = p.parentElement) {
                  const s = getComputedStyle(p).overflowX;
                  if (s === 'auto' || s === 'scroll' || s === 'hidden') return true;
                }
                return false;
              };
              for (const el of document.querySelectorAll('body *')) {
                const r = el.getBoundingClientRect();
                if (!r.width || (r.right <= w + 1 && r.left >= -1) || scrolls(el)) continue;
                if (getComputedStyle(el).position === 'fixed') continue;
                if (el.closest('.visually-hidden, .skip-link, [hidden]')) continue;
                const name = el.id ? '#' + el.id : el.tagName.toLowerCase() + '.' + el.className;
                out.push(name + ' ' + Math.round(r.right));
              }
              return out.slice(0, 8);
            }"""
        )
    )


async def test_every_main_page_fits_a_phone(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    await _seed(tenant_a)
    report: dict[str, list[str]] = {}
    visitor = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await visitor.new_page()
    for path in PUBLIC:
        await page.goto(f"{live_server.url}{path}")
        if found := await _overflow(page):
            report[path] = found
    await visitor.close()

    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await page.goto(f"{live_server.url}/login")
    await page.fill("#f-email", tenant_a.email)
    await page.fill("#f-password", tenant_a.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/app")
    for path in SIGNED_IN:
        await page.goto(f"{live_server.url}{path}")
        await idle(page)
        if found := await _overflow(page):
            report[path] = found
    assert not report, report

    # the navigation is collapsed to one bar (the page starts right below it); the menu opens
    await page.goto(f"{live_server.url}/contacts")
    # (banners above it, cookie or policy notices, vary with the session: measure the bar itself)
    bar = await page.locator("nav.sidebar").bounding_box()
    assert bar is not None and bar["height"] < 100, bar
    nav = page.locator("#main-nav")
    assert not await nav.is_visible()
    await page.click("#nav-toggle")
    await nav.wait_for(state="visible")
    assert await page.get_attribute("#nav-toggle", "aria-expanded") == "true"
    await page.click("#main-nav >> text=Companies")
    await page.wait_for_url(f"{live_server.url}/companies")
    assert not await page.locator("#main-nav").is_visible()  # closed again on the new page

    # the board: one stage fills the screen, the next is a swipe away (snap), all reachable
    await page.goto(f"{live_server.url}/deals/board")
    columns = page.locator(".board-column")
    first = await columns.nth(0).bounding_box()
    assert first is not None and first["width"] > PHONE["width"] * 0.7, first
    count = await columns.count()
    await columns.nth(count - 1).scroll_into_view_if_needed()
    last = await columns.nth(count - 1).bounding_box()
    assert last is not None and 0 <= last["x"] < PHONE["width"], last
    await context.close()
