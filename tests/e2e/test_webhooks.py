"""A webhook through the browser and the live worker: the admin adds it (the secret appears
once, swapped in by htmx), a new contact is delivered signed to a receiver on loopback, and the
delivery log shows it."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from app.webhooks.schemas import verify
from tests.e2e.conftest import LiveServer
from tests.helpers import Account
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_webhooks import new_contact


async def test_admin_adds_a_webhook_and_the_live_worker_delivers_signed(
    browser: Any, live_server: LiveServer, tenant_a: Account, tmp_path: Path
) -> None:
    receiver = await Receiver().start()
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = await context.new_page()
        await page.goto(f"{live_server.url}/login")
        await page.fill("#f-email", tenant_a.email)
        await page.fill("#f-password", tenant_a.password)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{live_server.url}/app")
        await page.goto(f"{live_server.url}/settings/webhooks")
        await page.fill("#f-url", receiver.url)
        await page.check("input[value='contact.created']")
        await page.click("text=Add webhook")  # without the contacts scope: refused, saying so
        await page.locator("#e-events >> text=Tick Contacts").wait_for()
        await page.check("input[value='contacts:read']")
        await page.click("text=Add webhook")
        secret_box = page.locator("#webhook-secret input")
        await secret_box.wait_for()
        secret = await secret_box.input_value()
        assert secret.startswith("whsec_")
        await page.screenshot(path=tmp_path / "created.png", full_page=True)

        await new_contact(tenant_a, "Browser")
        for _ in range(200):  # the live worker sends it
            if receiver.received:
                break
            await asyncio.sleep(0.1)
        assert len(receiver.received) == 1
        got = receiver.received[0]
        assert verify(secret, got.headers["odex-signature"], got.body, int(time.time()))
        data = json.loads(got.body)["data"]
        assert data["first_name"] == "Browser" and "emails" not in data  # no personal data

        await page.reload()
        assert await page.locator("#webhook-secret").count() == 0  # shown once
        await page.click("text=Deliveries")
        await page.locator("#delivery-log >> text=Delivered").wait_for()
        await page.screenshot(path=tmp_path / "log.png", full_page=True)
    finally:
        await context.close()
        await receiver.stop()
