"""A bulk change seen live in a colleague's browser: one person takes all 250 contacts of a
filtered view, tags them (a background job: the progress page follows it to the end), and the
colleague's open list shows the tag without a reload; the undo (a job too) takes it away again
in both browsers."""

from __future__ import annotations

import uuid
from typing import Any

from app.accounts import team
from app.core.db import tenant_transaction
from tests.deals.helpers import current_of
from tests.e2e.conftest import LiveServer, wait_for_mail
from tests.helpers import PASSWORD, Account

WAIT_MS = 30000
VIEW = "/contacts?tags_op=any&tags=e2ebulk"


async def _colleague(owner: Account, mailbox: Any) -> Account:
    email = f"bulk-mate-{uuid.uuid4().hex[:8]}@example.com"
    await team.invite(await current_of(owner), email, "member")
    token = (await wait_for_mail(mailbox, email, "/invite/accept")).split("token=")[1]
    user_id, tenant_id = await team.accept_invitation(token, None, "Bulk Mate", PASSWORD)
    return Account(user_id, tenant_id, email, PASSWORD, "Bulk Mate", owner.company)


async def _open(browser: Any, server: LiveServer, account: Account, path: str) -> tuple[Any, Any]:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{server.url}/login")
    await page.fill("#f-email", account.email)
    await page.fill("#f-password", account.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server.url}/app")
    await page.goto(f"{server.url}{path}")
    await page.wait_for_selector('#live-status[data-live="on"]', state="attached", timeout=WAIT_MS)
    return context, page


async def test_a_bulk_change_seen_live_in_a_colleagues_browser(
    app: Any, browser: Any, live_server: LiveServer, tenant_a: Account, mailbox: Any
) -> None:
    mate = await _colleague(tenant_a, mailbox)
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, tags)"
            " select gen_random_uuid(), $1, 'E2eBulk', 'P' || g, array['e2ebulk']"
            " from generate_series(1, 250) g",
            tenant_a.tenant_id,
        )
    ctx_m, page_m = await _open(browser, live_server, mate, VIEW)
    ctx_a, page_a = await _open(browser, live_server, tenant_a, VIEW)
    errors: list[str] = []  # console errors: CSP violations, swaps without a target
    for page in (page_a, page_m):
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    assert await page_m.locator("#results .badge", has_text="shipped").count() == 0

    await page_a.select_option("#bulk-scope", "view")
    await page_a.select_option("#bulk-action", "add_tag")
    await page_a.fill("#bulk-tag", "shipped")
    await page_a.click("#bulk-form button[type=submit]")
    await page_a.wait_for_selector("text=Add the tag “shipped” to 250 contacts?", timeout=WAIT_MS)
    await page_a.click("button:has-text('Yes, add the tag')")
    # the progress page follows the job to its end
    await page_a.wait_for_selector(
        "#bulk-summary >> text=Tagged 250 contacts “shipped”.", timeout=WAIT_MS
    )
    await page_a.wait_for_selector("#bulk-count >> text=of 250 done", timeout=WAIT_MS)
    # the colleague's list re-read its view: the tag shows without a reload
    await page_m.wait_for_selector("#results .badge >> text=shipped", timeout=WAIT_MS)

    await page_a.click("button:has-text('Undo')")
    await page_a.wait_for_selector("#bulk-summary >> text=Undone on 250 contacts.", timeout=WAIT_MS)
    await page_m.wait_for_function(
        "() => ![...document.querySelectorAll('#results .badge')]"
        ".some(b => b.textContent.trim() === 'shipped')",
        timeout=WAIT_MS,
    )
    assert not errors, errors
    for ctx in (ctx_a, ctx_m):
        await ctx.close()
