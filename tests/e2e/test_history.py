"""Browser: Back to Contacts, Companies or Deals after a live search shows the whole page (the
layout, the search box and the results), not a bare table, and Vary keeps caches apart."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer, idle
from tests.e2e.test_crm_import import _login
from tests.helpers import Account

WAIT_MS = 20_000


async def _seed(account: Account) -> None:
    from app.core.forms import parse
    from app.crm import companies, contacts
    from app.crm.schemas import CompanyForm, ContactForm
    from tests.deals.helpers import current_of, make_deal

    owner = await current_of(account)
    await companies.create_company(owner, parse(CompanyForm, {"name": "Zeta Corp"}))
    await contacts.create_contact(
        owner, parse(ContactForm, {"first_name": "Zed", "last_name": "Zulu"})
    )
    await make_deal(account, "Zeppelin")


async def test_back_to_a_searched_list_shows_the_whole_page(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    await _seed(tenant_a)
    context, page = await _login(browser, live_server, tenant_a)
    for path, box, results, name in (
        ("/contacts", "#f-q", "#results", "Zed Zulu"),
        ("/companies", "#f-q", "#results", "Zeta Corp"),
        ("/deals", "#deal-q", "#deal-results", "Zeppelin"),
    ):
        await page.goto(f"{live_server.url}{path}")
        await page.wait_for_selector(".app-shell")
        await page.fill(box, name.split()[0])
        await page.press(box, "Enter")  # the live search, pushed into the history
        await page.wait_for_url(f"{live_server.url}{path}?*", timeout=WAIT_MS)
        # the typed search and the Enter's may both be in flight: a click on results that a
        # late answer then replaces would be lost (on a loaded machine it was)
        await idle(page, WAIT_MS / 1000)
        await page.click(f"{results} a:has-text('{name}')")  # away to the record (boosted)
        await page.wait_for_url(lambda url: "?" not in url and url.count("/") > 3)
        await page.wait_for_selector(results, state="detached", timeout=WAIT_MS)
        await page.go_back()  # historyCacheSize 0: htmx asks the server (history restore)
        await page.wait_for_url(f"{live_server.url}{path}?*", timeout=WAIT_MS)
        # the list is back (a fragment of it was what the bug showed: then the layout is not)
        await page.wait_for_selector(f"{results} >> text={name}", timeout=WAIT_MS)
        assert await page.locator(".app-shell").count() == 1, path  # the layout, not a bare table
        assert await page.locator("nav.sidebar").is_visible(), path
        assert await page.locator(box).count() == 1, path  # the search box came back too
    await context.close()
