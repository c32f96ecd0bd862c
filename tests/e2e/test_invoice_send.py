"""An invoice in Chromium: two lines added with the "Add line" button, saved, emailed to the
customer; the dev mailbox lists the PDF attachment, which opens as a PDF."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from tests.crm.test_records import make_company
from tests.e2e.conftest import LiveServer
from tests.helpers import Account, browser_client

WAIT_MS = 15000


async def test_add_lines_save_send_and_see_the_pdf_in_the_mailbox(
    app: Any,
    browser: Any,
    live_server: LiveServer,
    tenant_a: Account,
    tenant_b: Account,
    mailbox: Any,
) -> None:
    async with browser_client(app) as client:
        await client.login(tenant_a.email, tenant_a.password)
        company = await make_company(client, f"Chromium Buyer {uuid.uuid4().hex[:6]}")
    customer = f"ap-{uuid.uuid4().hex[:8]}@buyer.example"

    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    errors: list[str] = []  # console errors: a CSP violation would show here
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(f"{live_server.url}/login")
    await page.fill("#f-email", tenant_a.email)
    await page.fill("#f-password", tenant_a.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/app")

    await page.goto(f"{live_server.url}/invoices/new")
    rows = page.locator("#invoice-line-rows tr.invoice-line")
    assert await rows.count() == 1
    await page.fill("#f-company_id", "Chromium Buyer")  # the server-searched picker
    await page.click(f"#f-company_id-picks [data-value='{company}']")
    await page.fill('[name="line-0-description"]', "Consulting")
    await page.fill('[name="line-0-quantity"]', "2")
    await page.fill('[name="line-0-unit_price"]', "150")
    await page.fill('[name="line-0-tax_rate"]', "19")
    for i, (what, price) in enumerate((("Travel", "80"), ("Report", "45.50")), start=1):
        await page.click("button[data-add-line]")
        assert await rows.count() == i + 1  # added in the page, no round trip
        await page.fill(f'[name="line-{i}-description"]', what)
        await page.fill(f'[name="line-{i}-unit_price"]', price)
    # a row added by mistake and removed again
    await page.click("button[data-add-line]")
    assert await rows.count() == 4
    await page.click("#invoice-line-rows tr.invoice-line:last-child button[data-remove-line]")
    assert await rows.count() == 3
    await page.click("button.btn-primary:has-text('Save draft')")
    await page.wait_for_url(re.compile(r".*/invoices/[0-9a-f-]{36}$"), timeout=WAIT_MS)
    invoice_url = page.url
    body = await page.text_content("main")
    assert body is not None and "Travel" in body and "Report" in body
    assert "482.50 EUR" in body  # 300 * 1.19 = 357 + 80 + 45.50

    await page.fill("#f-to", customer)
    await page.click("#send-form button[type=submit]")
    await page.wait_for_url(invoice_url, timeout=WAIT_MS)
    await page.wait_for_selector(".invoice-sends", timeout=WAIT_MS)
    assert customer in (await page.text_content(".invoice-sends") or "")

    # the real worker process drains the outbox into the dev mailbox
    deadline = time.monotonic() + 30
    while not mailbox.to(customer):
        assert time.monotonic() < deadline, "the invoice mail did not arrive"
        await page.wait_for_timeout(200)
    await page.goto(f"{live_server.url}/dev/mailbox")
    message = page.locator("article.mail-message", has_text=customer)
    link = message.locator(".mail-attachments a", has_text="INV-00001.pdf")
    await link.wait_for(timeout=WAIT_MS)
    href = await link.get_attribute("href")
    assert href is not None
    pdf = await context.request.get(f"{live_server.url}{href}")
    assert pdf.status == 200 and (await pdf.body()).startswith(b"%PDF")

    await page.goto(invoice_url)
    state = page.locator(".invoice-sends .send-state").first
    deadline = time.monotonic() + 20
    while (await state.text_content() or "").strip() != "delivered":
        assert time.monotonic() < deadline, await state.text_content()
        await page.wait_for_timeout(300)
        await page.reload()
    assert "Sent" in (await page.text_content("h1") or "")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    await context.close()
