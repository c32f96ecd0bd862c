"""Browser: an invited person answers the cookie banner first (Reject, then Accept through
Preferences) and still lands on their invitation, token and all, and can join."""

from __future__ import annotations

import uuid
from typing import Any

from app.accounts import team
from tests.deals.helpers import current_of
from tests.e2e.conftest import LiveServer, wait_for_mail
from tests.helpers import PASSWORD, Account

WAIT_MS = 15_000


async def test_invitation_survives_the_cookie_banner(
    app: Any, browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account,
    mailbox: Any,
) -> None:  # fmt: skip
    email = f"banner-{uuid.uuid4().hex[:8]}@example.com"
    await team.invite(await current_of(tenant_a), email, "member")
    link = await wait_for_mail(mailbox, email, "/invite/accept")
    here = link[link.index("/invite/accept") :]
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server.url}{here}")
    await page.click("#cookie-banner button:has-text('Reject')")
    # back on the same address: the banner is gone and the invitation's form is there
    await page.locator("#cookie-banner").wait_for(state="detached", timeout=WAIT_MS)
    await page.locator("button:has-text('Accept invitation')").wait_for(timeout=WAIT_MS)
    assert page.url == f"{live_server.url}{here}"
    assert await page.locator("text=didn't work").count() == 0

    # Preferences: the page offers the way back to the invitation
    await page.goto(f"{live_server.url}/settings/cookies?next={here.replace('?', '%3F')}")
    await page.click("button:has-text('Allow analytics')")
    # the form posts and comes back to this page: wait for the new page before going back
    # (a click on the old page's link while the post is under way races its redirect)
    await page.locator("#consent-status", has_text="analytics allowed").wait_for(timeout=WAIT_MS)
    await page.click("#cookies-back", timeout=WAIT_MS)
    await page.wait_for_url(f"{live_server.url}{here}", timeout=WAIT_MS)

    # and the invitation still works: join with a name and password
    await page.fill("input[name=name]", "Banner Person")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button:has-text('Accept invitation')")
    await page.wait_for_url(f"{live_server.url}/app", timeout=WAIT_MS)
    await context.close()
