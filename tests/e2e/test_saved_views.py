"""Browser: filter the contact list, save the view, open it again from the list, rename and
delete it."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer
from tests.e2e.test_crm_import import _login
from tests.helpers import Account

WAIT_MS = 20_000


async def _seed(account: Account) -> None:
    from app.core.forms import parse
    from app.crm import contacts
    from app.crm.schemas import ContactForm
    from tests.deals.helpers import current_of

    owner = await current_of(account)
    for first, tags in (("Vera", "vip"), ("Walt", "trial")):
        form = parse(ContactForm, {"first_name": first, "last_name": "Viewson", "tags": tags})
        await contacts.create_contact(owner, form)


async def test_filter_save_and_reopen_a_view(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    await _seed(tenant_a)
    context, page = await _login(browser, live_server, tenant_a)
    await page.goto(f"{live_server.url}/contacts")
    await page.wait_for_selector("#list-filters")
    await page.select_option("#f-tags-op", "any")
    await page.fill("#f-tags", "vip")
    await page.press("#f-tags", "Enter")  # the live filter, pushed into the history
    await page.wait_for_url(f"{live_server.url}/contacts?*tags=vip*", timeout=WAIT_MS)
    await page.wait_for_selector("#results >> text=Vera Viewson", timeout=WAIT_MS)
    assert await page.locator("#results >> text=Walt Viewson").count() == 0
    await page.click("#saved-views summary")
    await page.fill("#save-view-name", "VIP people")
    await page.click("#save-view button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/contacts?*view=*", timeout=WAIT_MS)
    await page.goto(f"{live_server.url}/contacts")  # everyone again
    await page.wait_for_selector("#results >> text=Walt Viewson", timeout=WAIT_MS)
    await page.click(".saved-view a:has-text('VIP people')")
    await page.wait_for_url(f"{live_server.url}/contacts?*tags=vip*", timeout=WAIT_MS)
    await page.wait_for_selector("#results >> text=Vera Viewson", timeout=WAIT_MS)
    assert await page.locator("#results >> text=Walt Viewson").count() == 0
    assert await page.input_value("#f-tags") == "vip"
    # rename it, then delete it, from its menu
    view = page.locator(".saved-view", has_text="VIP people")
    await view.locator(".dropdown-toggle").click()
    await view.locator("input[name=name]").fill("Top people")
    await view.locator("button:has-text('Rename')").click()
    await page.wait_for_selector(".saved-view a:has-text('Top people')", timeout=WAIT_MS)
    view = page.locator(".saved-view", has_text="Top people")
    await view.locator(".dropdown-toggle").click()
    await view.locator("button:has-text('Delete view')").click()
    await page.wait_for_selector(".saved-view", state="detached", timeout=WAIT_MS)
    await context.close()
