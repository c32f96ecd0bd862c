"""Browser: Ctrl-K opens the search dialog anywhere; type a fragment, arrow down, Enter lands
on the record. A form's company picker is searched on the server and keyboard usable."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer
from tests.e2e.test_crm_import import _login
from tests.helpers import Account

WAIT_MS = 20_000


async def _seed(account: Account) -> tuple[str, str]:
    from app.core.forms import parse
    from app.crm import companies, contacts
    from app.crm.schemas import CompanyForm, ContactForm
    from tests.deals.helpers import current_of

    owner = await current_of(account)
    company = await companies.create_company(owner, parse(CompanyForm, {"name": "Quokka Labs"}))
    contact = await contacts.create_contact(
        owner, parse(ContactForm, {"first_name": "Xenia", "last_name": "Quillfeather"})
    )
    return str(company), str(contact)


async def test_ctrl_k_arrow_enter_lands_on_the_record(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    company, contact = await _seed(tenant_a)
    context, page = await _login(browser, live_server, tenant_a)
    await page.wait_for_selector(".app-shell")

    await page.keyboard.press("Control+k")
    dialog = page.locator("#search-dialog")
    await dialog.wait_for(state="visible", timeout=WAIT_MS)
    assert await dialog.get_attribute("aria-labelledby") == "search-dialog-title"
    await page.keyboard.type("illfeat")  # a fragment from the middle of the name
    await page.wait_for_selector(
        "#search-dialog-results a.search-hit:has-text('Xenia Quillfeather')", timeout=WAIT_MS
    )
    await page.keyboard.press("ArrowDown")
    focused = await page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == f"/contacts/{contact}"
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{live_server.url}/contacts/{contact}", timeout=WAIT_MS)
    await page.wait_for_selector("h1:has-text('Xenia Quillfeather')", timeout=WAIT_MS)

    # Esc closes it
    await page.keyboard.press("Control+k")
    await dialog.wait_for(state="visible", timeout=WAIT_MS)
    await page.keyboard.press("Escape")
    await dialog.wait_for(state="hidden", timeout=WAIT_MS)

    # the company picker: type, arrow down, Enter picks; saving links the company
    await page.goto(f"{live_server.url}/contacts/{contact}/edit")
    await page.click("#f-company_id")
    await page.keyboard.type("okka")
    await page.wait_for_selector("#f-company_id-picks [role=option]", timeout=WAIT_MS)
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    assert await page.input_value("input[type=hidden][name=company_id]") == company
    assert await page.input_value("#f-company_id") == "Quokka Labs"
    await page.click("#contact-form button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/contacts/{contact}", timeout=WAIT_MS)
    await page.wait_for_selector(f"a[href='/companies/{company}']", timeout=WAIT_MS)
    await context.close()
