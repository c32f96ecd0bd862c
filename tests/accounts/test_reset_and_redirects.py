"""Password reset respects MFA; reset links die with a password or email change; the old
address hears of an email change; every `next` stays on this site."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.web import safe_local_path
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Account, browser_client, run_jobs
from tests.security.helpers import enable_mfa

NEW_PASSWORD = "another correct horse battery"
OFF_SITE = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    " /app",
    "/\u3000/evil.example",
    "evil.example",
    "",
]


async def _reset_link(client: Any, mailbox: Any, email: str) -> str:
    await client.refresh_csrf("/password/forgot")
    await client.post_form("/password/forgot", {"email": email})
    await run_jobs()
    return mailbox.last_link(email, "/password/reset")


async def _reset(client: Any, link: str, password: str = NEW_PASSWORD) -> Any:
    await client.refresh_csrf(link)
    token = link.split("token=")[1]
    return await client.post_form(
        "/password/reset", {"token": token, "password": password, "confirm": password}
    )


async def test_reset_does_not_sign_in_past_mfa(
    app: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    totp = await enable_mfa(tenant_a.user_id)
    async with browser_client(app) as client:
        link = await _reset_link(client, mailbox, tenant_a.email)
        done = await _reset(client, link)
        assert done.status_code == 303 and done.headers["location"] == "/login/mfa"
        assert (await client.get("/app")).headers["location"].startswith("/login")
        await client.refresh_csrf("/login/mfa")
        signed = await client.post_form("/login/mfa", {"code": totp.now()})
        assert signed.status_code == 303 and signed.headers["location"] == "/app"
        assert (await client.get("/app")).status_code == 200
    async with browser_client(app) as client:  # without MFA a reset still signs in
        link = await _reset_link(client, mailbox, tenant_b.email)
        done = await _reset(client, link)
        assert done.status_code == 303 and done.headers["location"] == "/app"
        assert (await client.get("/app")).status_code == 200


async def test_password_change_voids_pending_reset_links(
    app: Any, client_a: Any, tenant_a: Account, mailbox: Any
) -> None:
    async with browser_client(app) as stranger:
        link = await _reset_link(stranger, mailbox, tenant_a.email)
    changed = await client_a.post_form(
        "/settings/profile",
        {
            "section": "password",
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303
    async with browser_client(app) as stranger:
        late = await _reset(stranger, link, "yet another good passphrase")
        assert late.status_code == 422 and "already used" in late.text
    async with browser_client(app) as owner:
        await owner.login(tenant_a.email, NEW_PASSWORD)  # the change stands


async def test_email_change_voids_reset_links_and_tells_the_old_address(
    app: Any, client_a: Any, tenant_a: Account, mailbox: Any
) -> None:
    async with browser_client(app) as stranger:
        link = await _reset_link(stranger, mailbox, tenant_a.email)
    new_email = unique_email("moved")
    changed = await client_a.post_form(
        "/settings/profile",
        {"section": "email", "email": new_email, "current_password": PASSWORD},
    )
    assert changed.status_code == 303
    await run_jobs()
    told = [m for m in mailbox.to(tenant_a.email) if "was changed" in str(m["Subject"])]
    assert len(told) == 1
    body = told[0].get_payload(decode=True).decode()
    assert tenant_a.email in body and new_email in body
    async with browser_client(app) as stranger:
        late = await _reset(stranger, link)
        assert late.status_code == 422 and "already used" in late.text


@pytest.mark.parametrize("target", OFF_SITE)
def test_safe_local_path_keeps_redirects_on_this_site(target: str) -> None:
    assert safe_local_path(target) == "/app"


def test_safe_local_path_keeps_local_paths() -> None:
    for target in ("/contacts?q=a%20b", "/deals/board", "/settings/cookies", "/invite/accept?t=1"):
        assert safe_local_path(target) == target


async def test_no_next_parameter_leads_off_site(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    # the reported case: %09 is a tab, which browsers drop (/<tab>/evil -> //evil)
    signed_in = await client_a.get("/login?next=/%09/evil.example")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/app"
    for target in OFF_SITE:
        consent = await client_a.post_form("/privacy/consent", {"choice": "reject", "next": target})
        assert consent.headers["location"] == "/app", repr(target)
        ack = await client_a.post_form(
            "/privacy/acknowledge", {"policy_version": "x", "next": target}
        )
        assert "evil" not in ack.headers.get("location", ""), repr(target)
    async with browser_client(app) as client:
        for target in OFF_SITE[:6]:
            await client.refresh_csrf("/login")
            login = await client.post_form(
                "/login", {"email": tenant_b.email, "password": PASSWORD, "next": target}
            )
            assert login.headers["location"] == "/app", repr(target)
            client.cookies.clear()
    async with browser_client(app) as client:  # an anonymous visitor sent to log in
        page = await client.get("/contacts")
        assert page.headers["location"] == "/login?next=/contacts"
