"""The sessions page: every active session with device, IP and last seen; revoke one or all."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import Account
from tests.security.helpers import CHROME, FIREFOX, browser

ROW = re.compile(r'<li class="list-group-item[^"]*session-row".*?</li>', re.S)
REVOKE = re.compile(r'action="/settings/sessions/([0-9a-f]{64})/revoke"')


def _rows(html: str) -> dict[str, str | None]:
    """Device text -> the session id its revoke form names (None for this device)."""
    found: dict[str, str | None] = {}
    for row in ROW.findall(html):
        device = re.search(r'<div class="fw-semibold">([^<]+)', row)
        revoke = REVOKE.search(row)
        assert device
        found[device.group(1).strip()] = revoke.group(1) if revoke else None
    return found


async def test_list_and_revoke_sessions(
    app: Any, client_a: Any, tenant_a: Account, client_b: Any
) -> None:
    async with browser(app, FIREFOX) as firefox, browser(app, CHROME) as chrome:
        await firefox.login(tenant_a.email, tenant_a.password)
        await chrome.login(tenant_a.email, tenant_a.password)
        page = await client_a.get("/settings/sessions")
        rows = _rows(page.text)
        assert set(rows) >= {"Firefox on Windows", "Chrome on macOS"} and len(rows) == 3
        assert "This device" in page.text and "IP 127.0.0.1" in page.text

        firefox_id = rows["Firefox on Windows"]
        assert firefox_id
        stolen = await client_b.post_form(f"/settings/sessions/{firefox_id}/revoke")
        assert stolen.status_code == 404  # another account can't end it
        assert (await firefox.get("/app")).status_code == 200

        done = await client_a.post_form(f"/settings/sessions/{firefox_id}/revoke")
        assert done.status_code == 303
        assert (await firefox.get("/app")).status_code == 303
        assert (await chrome.get("/app")).status_code == 200
        assert "Firefox on Windows" not in _rows((await client_a.get("/settings/sessions")).text)

        others = await client_a.post_form("/settings/sessions/revoke-others")
        assert others.status_code == 303
        assert (await chrome.get("/app")).status_code == 303
        assert (await client_a.get("/app")).status_code == 200
        assert len(_rows((await client_a.get("/settings/sessions")).text)) == 1
    assert (await client_b.get("/app")).status_code == 200


async def test_password_change_signs_out_other_sessions(
    app: Any, client_a: Any, tenant_a: Account
) -> None:
    async with browser(app, CHROME) as other:
        await other.login(tenant_a.email, tenant_a.password)
        changed = await client_a.post_form(
            "/settings/profile",
            {
                "section": "password",
                "current_password": tenant_a.password,
                "new_password": "another long passphrase 7",
                "confirm": "another long passphrase 7",
            },
        )
        assert changed.status_code == 303
        assert (await other.get("/app")).status_code == 303
        assert (await client_a.get("/app")).status_code == 200
