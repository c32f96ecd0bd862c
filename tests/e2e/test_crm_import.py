"""Browser journey: import contacts from a CSV (upload through htmx, map, live progress), then
find them in the list; a second tenant's browser sees none of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.crm.test_import import contacts_csv
from tests.e2e.conftest import LiveServer
from tests.helpers import Account, set_plan

WAIT_MS = 30_000


async def _login(browser: Any, server: LiveServer, account: Account) -> tuple[Any, Any]:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{server.url}/login")
    await page.fill("#f-email", account.email)
    await page.fill("#f-password", account.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server.url}/app")
    return context, page


async def test_import_contacts_in_the_browser(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account, tmp_path: Path
) -> None:
    await set_plan(tenant_a, "pro")  # Free holds 500 contacts and companies
    content, bad = contacts_csv(1500)
    csv_file = tmp_path / "people.csv"
    csv_file.write_bytes(content)
    context, page = await _login(browser, live_server, tenant_a)
    await page.goto(f"{live_server.url}/contacts")
    await page.click("text=Import CSV")
    await page.set_input_files("#f-file", str(csv_file))
    await page.click("button:has-text('Upload')")
    await page.wait_for_selector("table.mapping", timeout=WAIT_MS)
    assert await page.locator("tr.preview-row").count() == 5
    await page.click("button:has-text('Import')")
    await page.wait_for_selector("text=Import finished", timeout=WAIT_MS)  # polled, no reload
    summary = await page.locator("#import-progress").inner_text()
    assert f"{1500 - len(bad):,} imported" in summary and f"{len(bad):,} failed" in summary
    await page.click("text=Go to contacts")
    await page.wait_for_url(f"{live_server.url}/contacts*")
    await page.fill("#f-q", "person1234@example.com")
    # Enter submits the search whether or not htmx has bound the field yet (right after the
    # boosted navigation); the live search covers typing at a human pace
    await page.press("#f-q", "Enter")
    await page.wait_for_selector("text=Imported1234", timeout=WAIT_MS)  # live search

    other, page_b = await _login(browser, live_server, tenant_b)
    await page_b.goto(f"{live_server.url}/contacts")
    assert "Imported" not in await page_b.content()
    await other.close()
    await context.close()
