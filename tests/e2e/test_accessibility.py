"""WCAG 2.2 AA: axe-core (from npm) over every main page, signed out and signed in as an owner,
reports no serious or critical violation; a skip link leads to the content; focus is visible."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import LiveServer, idle
from tests.e2e.test_history import _seed
from tests.helpers import Account

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PUBLIC = [
    "/login",
    "/signup",
    "/password/forgot",
    "/privacy",
    "/privacy/processors",
    "/settings/cookies",
    "/support",
]
SIGNED_IN = [
    "/app",
    "/contacts",
    "/contacts/new",
    "/companies",
    "/companies/new",
    "/deals",
    "/deals/board",
    "/deals/new",
    "/deals/pipelines",
    "/invoices",
    "/invoices/new",
    "/tasks",
    "/search?q=an",
    "/imports/new",
    "/notifications",
    "/settings/profile",
    "/settings/company",
    "/settings/team",
    "/settings/security",
    "/settings/sessions",
    "/settings/alerts",
    "/settings/audit",
    "/settings/my-data",
    "/settings/export",
    "/settings/usage",
    "/settings/cookies",
    "/settings/billing",
    "/settings/webhooks",
    "/settings/custom-fields",
    "/support",
]
RECORDS = ["/contacts", "/companies", "/deals"]  # the first record of each list, too


async def _violations(page: Any) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate(
        """async () => {
          const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
          return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 6).map(n => n.target.join(' ') + ' :: '
                          + (n.any[0] && n.any[0].message || n.failureSummary))}));
        }"""
    )
    return list(found)


async def _check(page: Any, url: str, report: dict[str, Any]) -> None:
    response = await page.goto(url)
    assert response is not None and response.status < 400, url
    # what htmx loads after the page (the alert shield, the bell) is in before axe looks
    await idle(page)
    found = await _violations(page)
    if found:
        report[url] = found


async def _check_all(context: Any, urls: list[str], report: dict[str, Any], tabs: int = 2) -> None:
    """Check the pages in `tabs` tabs at once (axe's work is the browser's: the other core)."""

    async def sweep(part: list[str]) -> None:
        page = await context.new_page()
        for url in part:
            await _check(page, url, report)
        await page.close()

    await asyncio.gather(*(sweep(urls[i::tabs]) for i in range(tabs)))


async def test_axe_finds_no_serious_violation_on_main_pages(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    assert AXE.exists(), "axe-core is missing: `make install` runs npm ci"
    await _seed(tenant_a)
    report: dict[str, Any] = {}
    anonymous = await browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 900})
    await _check_all(anonymous, [f"{live_server.url}{path}" for path in PUBLIC], report)
    await anonymous.close()

    context = await browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server.url}/login")
    await page.fill("#f-email", tenant_a.email)
    await page.fill("#f-password", tenant_a.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/app")
    urls = [f"{live_server.url}{path}" for path in SIGNED_IN]
    for path in RECORDS:
        await page.goto(f"{live_server.url}{path}")
        link = page.locator("#results a[href^='/'], #deal-results a[href^='/']").first
        href = await link.get_attribute("href")
        assert href, path
        urls.append(f"{live_server.url}{href}")
    await _check_all(context, urls, report)
    await context.close()
    assert not report, json.dumps(report, indent=1)


async def test_skip_link_and_visible_focus(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server.url}/login")
    await page.keyboard.press("Tab")  # the first stop of every page is the skip link
    skip = page.locator("a.skip-link")
    assert await skip.evaluate("el => el === document.activeElement")
    assert await skip.is_visible()  # shown when focused
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
    await page.focus("#f-email")
    ring = await page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; })()"
    )
    style, width, shadow = ring
    assert (style != "none" and float(width.rstrip("px")) >= 2) or "rgb" in shadow, ring
    await context.close()
