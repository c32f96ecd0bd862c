"""Rate limits and progressive lockout (Redis): clear 429s with the wait, never locked forever."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.core import ratelimit
from app.core.db import tenant_transaction
from app.core.redis import redis
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Account
from tests.security.helpers import CHROME, FIREFOX, browser


@pytest.fixture
async def clean_ip_counters(app: Any) -> AsyncIterator[None]:
    """The test client's IP is shared by the whole suite: leave its counters as found."""
    yield
    keys = [k async for k in redis().scan_iter(match="rl:*")]
    if keys:
        await redis().delete(*keys)


async def _kinds(account: Account) -> list[str]:
    async with tenant_transaction(account.tenant_id) as conn:
        return [
            r["kind"]
            for r in await conn.fetch("select kind from security_alerts order by created_at")
        ]


async def test_failed_logins_alert_then_lock_progressively_but_not_the_usual_device(
    app: Any, tenant_a: Account, tenant_b: Account, clean_ip_counters: None
) -> None:
    async with browser(app, FIREFOX) as usual:  # the owner's everyday browser
        await usual.login(tenant_a.email, tenant_a.password)
        device_cookies = dict(usual.cookies)
    assert "odex_device" in device_cookies  # the browser's trusted-device token (HttpOnly)
    async with browser(app, CHROME) as attacker:
        await attacker.refresh_csrf("/login")
        wrong = {"email": tenant_a.email, "password": "guess guess guess"}
        for attempt in range(1, 6):
            response = await attacker.post_form("/login", wrong, htmx=True)
            assert response.status_code == 422, attempt
            if attempt == 3:
                assert await _kinds(tenant_a) == ["failed_logins"]
        assert await _kinds(tenant_a) == ["failed_logins", "lockout"]
        locked = await attacker.post_form(
            "/login", {"email": tenant_a.email, "password": PASSWORD}, htmx=True
        )
        assert locked.status_code == 429
        assert "locked for a while" in locked.text and "Try again in 1 minute." in locked.text
        assert 0 < int(locked.headers["retry-after"]) <= 60
        page = await attacker.post_form("/login", {"email": tenant_a.email, "password": PASSWORD})
        assert page.status_code == 429 and "Try again in 1 minute" in page.text  # full page

        # the lock expires (simulated), and the next lock lasts twice as long
        await redis().delete(ratelimit._lock_keys(tenant_a.email)[1])
        for _ in range(5):
            await attacker.post_form("/login", wrong, htmx=True)
        again = await attacker.post_form("/login", wrong, htmx=True)
        assert again.status_code == 429 and "Try again in 2 minutes." in again.text

    async with browser(app, FIREFOX) as copycat:  # the victim's user-agent is not a way in
        await copycat.refresh_csrf("/login")
        copied = await copycat.post_form(
            "/login", {"email": tenant_a.email, "password": PASSWORD}, htmx=True
        )
        assert copied.status_code == 429
        copycat.cookies.set("odex_device", "forged-" + device_cookies["odex_device"][7:])
        forged = await copycat.post_form(
            "/login", {"email": tenant_a.email, "password": PASSWORD}, htmx=True
        )
        assert forged.status_code == 429
    async with browser(app, CHROME) as usual:  # the victim still gets in from their browser
        usual.cookies.set("odex_device", device_cookies["odex_device"])  # whatever its UA
        await usual.login(tenant_a.email, tenant_a.password)
        assert (await usual.get("/app")).status_code == 200
    assert await _kinds(tenant_b) == []
    assert ratelimit.MAX_LOCK_SECONDS == 15 * 60  # the longest any lock can last


async def test_signup_reset_and_invitation_limits(
    app: Any, client: Any, client_a: Any, monkeypatch: Any, clean_ip_counters: None
) -> None:
    monkeypatch.setattr(ratelimit, "SIGNUP_PER_IP", ratelimit.Limit("t-signup", 1, 3600))
    monkeypatch.setattr(ratelimit, "INVITE_PER_USER", ratelimit.Limit("t-invite", 1, 3600))
    form = {"name": "Ada", "company": "Engines", "password": PASSWORD}
    await client.refresh_csrf("/signup")
    first = await client.post_form("/signup", {**form, "email": unique_email("ada")})
    assert first.status_code == 303
    async with browser(app, FIREFOX) as other:
        await other.refresh_csrf("/signup")
        second = await other.post_form("/signup", {**form, "email": unique_email("ada")})
        assert second.status_code == 429 and "Try again in 60 minutes" in second.text
        assert second.headers["retry-after"]

        target = unique_email("forgetful")
        await other.refresh_csrf("/password/forgot")
        for _ in range(ratelimit.RESET_PER_EMAIL.limit):
            ok = await other.post_form("/password/forgot", {"email": target})
            assert ok.status_code == 200
        limited = await other.post_form("/password/forgot", {"email": target})
        assert limited.status_code == 429 and "several reset links" in limited.text
        fine = await other.post_form("/password/forgot", {"email": unique_email("x")})
        assert fine.status_code == 200  # per address, so nobody else is blocked

    invite = await client_a.post_form(
        "/settings/team/invite", {"email": unique_email("c"), "role": "member"}
    )
    assert invite.status_code == 303
    too_many = await client_a.post_form(
        "/settings/team/invite", {"email": unique_email("c"), "role": "member"}
    )
    assert too_many.status_code == 429 and "invitations" in too_many.text
