"""Browser journey: a custom field through import and export. An admin adds a field in
Settings → Custom fields, imports a CSV whose column maps to it (guessed by its name), sees the
value on the contact's page, exports the workspace and finds the column named by the field;
the other workspace's browser sees neither the field nor the value."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

from tests.e2e.conftest import LiveServer
from tests.e2e.test_crm_import import WAIT_MS, _login
from tests.helpers import Account


async def test_a_custom_field_through_import_and_export(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account, tmp_path: Path
) -> None:
    context, page = await _login(browser, live_server, tenant_a)
    await page.goto(f"{live_server.url}/settings/custom-fields")
    await page.select_option("#f-object_kind", "contact")
    await page.fill("#f-label", "Loyalty tier")
    await page.select_option("#f-field_type", "select")
    await page.fill("#f-options", "Gold\nSilver")
    await page.click("button:has-text('Add field')")
    await page.wait_for_selector("#field-loyalty_tier", timeout=WAIT_MS)

    csv_file = tmp_path / "tiers.csv"
    csv_file.write_text("First name,Last name,Loyalty tier\nCfe2e,Person,silver\n")
    await page.goto(f"{live_server.url}/imports/new?kind=contacts")
    await page.set_input_files("#f-file", str(csv_file))
    await page.click("button:has-text('Upload')")
    await page.wait_for_selector("table.mapping", timeout=WAIT_MS)
    chosen = await page.locator("select[name=col_2]").input_value()
    assert chosen == "custom.loyalty_tier"  # the column named like the field maps to it
    await page.click("button:has-text('Import')")
    await page.wait_for_selector("text=Import finished", timeout=WAIT_MS)
    await page.click("text=Go to contacts")
    await page.wait_for_url(f"{live_server.url}/contacts*")
    await page.click("text=Cfe2e Person")
    await page.wait_for_selector("[data-custom=loyalty_tier]", timeout=WAIT_MS)
    assert await page.locator("[data-custom=loyalty_tier]").inner_text() == "Silver"

    await page.goto(f"{live_server.url}/settings/export")
    await page.click("button:has-text('Export my data')")
    download_link = page.locator("a:has-text('Download')").first
    await download_link.wait_for(timeout=60_000)  # the row polls until the job is done
    async with page.expect_download() as info:
        await download_link.click()
    archive = zipfile.ZipFile(await (await info.value).path())
    rows = list(csv.DictReader(io.StringIO(archive.read("contacts.csv").decode("utf-8-sig"))))
    mine = [r for r in rows if r["First name"] == "Cfe2e"]
    assert mine and mine[0]["Loyalty tier"] == "Silver"

    other, page_b = await _login(browser, live_server, tenant_b)
    await page_b.goto(f"{live_server.url}/settings/custom-fields")
    assert "Loyalty tier" not in await page_b.content()
    await page_b.goto(f"{live_server.url}/contacts")
    assert "Cfe2e" not in await page_b.content()
    await other.close()
    await context.close()


async def test_custom_field_inputs_filters_and_pages_pass_axe(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    from tests.api.test_custom_fields_api import define
    from tests.e2e.test_accessibility import AXE, _check

    assert AXE.exists()
    options = {"select": "Gold\nSilver", "multi_select": "Ai\nDb"}
    for kind in ("contact", "deal"):
        for field_type in ("text", "number", "money", "date", "select", "multi_select",
                           "checkbox", "url", "user"):  # fmt: skip
            extra = {"options": options[field_type]} if field_type in options else {}
            await define(tenant_a, kind, f"A11y {field_type}", field_type, **extra)
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server.url}/login")
    await page.fill("#f-email", tenant_a.email)
    await page.fill("#f-password", tenant_a.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/app")
    await page.goto(f"{live_server.url}/contacts/new")
    await page.fill("#f-first_name", "Axe")
    await page.fill("[id='f-custom.a11y_number']", "lots")  # refused: the inline message too
    await page.click("button:has-text('Save contact')")
    await page.wait_for_selector("text=as a number", timeout=WAIT_MS)
    report: dict[str, Any] = {}
    for path in (
        "/settings/custom-fields",
        "/contacts/new",
        "/deals/new",
        "/contacts?cols=a11y_money&cols=a11y_select&cf.a11y_select=Gold",
    ):
        await _check(page, f"{live_server.url}{path}", report)
    await context.close()
    assert not report, report
