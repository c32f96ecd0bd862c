"""Browser journey: a second company with the first's name (a legal form aside) is warned of
and created anyway, the duplicates list pairs them, the merge page merges them, and the
survivor shows both companies' notes; the other workspace's list shows nothing of it."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import LiveServer
from tests.e2e.test_crm_import import WAIT_MS, _login
from tests.helpers import Account

COMPANY_URL = re.compile(r".*/companies/[0-9a-f-]{36}$")


async def _add_note(page: Any, body: str) -> None:
    await page.fill("#f-body", body)
    await page.click("button:has-text('Add note')")
    await page.wait_for_selector(f".note:has-text('{body}')", timeout=WAIT_MS)


async def test_merge_two_companies_in_the_browser(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    context, page = await _login(browser, live_server, tenant_a)
    await page.goto(f"{live_server.url}/companies/new")
    await page.fill("#f-name", "Globex Corporation")
    await page.fill("#f-domain", "globex.com")
    await page.click("button:has-text('Save company')")
    await page.wait_for_url(COMPANY_URL, timeout=WAIT_MS)
    await _add_note(page, "Met Hank at the expo")

    await page.goto(f"{live_server.url}/companies/new")
    await page.fill("#f-name", "GLOBEX, Corp.")
    await page.click("button:has-text('Save company')")
    warning = page.locator("#likely-duplicates")
    await warning.wait_for(timeout=WAIT_MS)
    assert "Globex Corporation" in await warning.inner_text()
    assert await warning.locator("a:has-text('Open existing')").count() == 1
    await page.click("button:has-text('Create anyway')")
    await page.wait_for_url(COMPANY_URL, timeout=WAIT_MS)
    await _add_note(page, "Volcano lair needs a quote")

    await page.goto(f"{live_server.url}/companies")
    await page.click("a:has-text('Duplicates')")
    await page.wait_for_selector("#duplicate-pairs", timeout=WAIT_MS)
    assert "Same name" in await page.locator("#duplicate-pairs").inner_text()
    await page.click("#duplicate-pairs a:has-text('Merge…')")
    await page.wait_for_selector("#merge-form", timeout=WAIT_MS)
    await page.click("button:has-text('Merge into this company')")
    await page.wait_for_url(COMPANY_URL, timeout=WAIT_MS)
    await page.wait_for_selector("text=Met Hank at the expo", timeout=WAIT_MS)
    text = await page.content()
    assert "Volcano lair needs a quote" in text
    assert "into this company" in text  # the timeline's merge entry
    await page.goto(f"{live_server.url}/companies/duplicates")
    assert "No likely duplicates" in await page.content()

    other, page_b = await _login(browser, live_server, tenant_b)
    await page_b.goto(f"{live_server.url}/companies/duplicates")
    assert "Globex" not in await page_b.content()
    await other.close()
    await context.close()
