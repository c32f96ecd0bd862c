"""TOTP MFA: enrolment with a QR code, recovery codes, login second step, owner policy."""

from __future__ import annotations

import re
from typing import Any

import pyotp

from app.core import crypto
from app.core.db import global_transaction, tenant_transaction
from tests.helpers import Account
from tests.security.helpers import FIREFOX, add_member, browser

SECRET = re.compile(r'id="mfa-secret">([A-Z2-7]+)<')
CODES = re.compile(r'class="col-6 recovery-code">([0-9a-f]{5}-[0-9a-f]{5})<')


async def _enrol(client: Any, account: Account) -> tuple[pyotp.TOTP, list[str]]:
    page = await client.post_form("/settings/security/mfa/start")
    assert 'src="data:image/svg+xml' in page.text  # the QR code, CSP-safe
    match = SECRET.search(page.text)
    assert match
    totp = pyotp.TOTP(match.group(1))
    wrong_pw = await client.post_form(
        "/settings/security/mfa/confirm", {"code": totp.now(), "current_password": "nope nope"}
    )
    assert wrong_pw.status_code == 422 and "isn&#39;t your current password" in wrong_pw.text
    wrong_code = await client.post_form(
        "/settings/security/mfa/confirm",
        {
            "code": "000000" if totp.now() != "000000" else "111111",
            "current_password": account.password,
        },
    )
    assert wrong_code.status_code == 422 and "didn&#39;t work" in wrong_code.text
    done = await client.post_form(
        "/settings/security/mfa/confirm", {"code": totp.now(), "current_password": account.password}
    )
    assert done.status_code == 200 and 'id="mfa-status">On' in done.text
    codes = CODES.findall(done.text)
    assert len(codes) == 10
    return totp, codes


async def _password_step(app: Any, account: Account) -> Any:
    cm = browser(app, FIREFOX)
    client = await cm.__aenter__()
    await client.refresh_csrf("/login")
    response = await client.post_form(
        "/login", {"email": account.email, "password": account.password}
    )
    assert response.status_code == 303 and response.headers["location"] == "/login/mfa"
    return cm, client


async def test_enrol_then_login_needs_a_fresh_code_or_a_recovery_code(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    totp, codes = await _enrol(client_a, tenant_a)
    async with global_transaction() as conn:
        stored = await conn.fetchval(
            "select secret_enc from user_mfa where user_id = $1", tenant_a.user_id
        )
        hashes = await conn.fetch(
            "select code_hash from mfa_recovery_codes where user_id = $1", tenant_a.user_id
        )
        other = await conn.fetchval(
            "select count(*) from user_mfa where user_id = $1", tenant_b.user_id
        )
        enrol_step = await conn.fetchval(
            "select last_step from user_mfa where user_id = $1", tenant_a.user_id
        )
    assert crypto.is_encrypted(stored) and totp.secret not in stored
    where = crypto.bind("user_mfa", "secret_enc", tenant_a.user_id)  # sealed to its row
    assert crypto.is_bound(stored) and crypto.decrypt_text(stored, binding=where) == totp.secret
    assert len(hashes) == 10 and not {h["code_hash"] for h in hashes} & set(codes)
    assert other == 0

    cm, client = await _password_step(app, tenant_a)
    try:
        assert (await client.get("/app")).status_code == 303  # not signed in yet
        await client.refresh_csrf("/login/mfa")
        used = totp.at(enrol_step * totp.interval)  # the very code used to enrol
        replay = await client.post_form("/login/mfa", {"code": used})
        assert replay.status_code == 422
        ok = await client.post_form("/login/mfa", {"code": codes[0]})
        assert ok.status_code == 303 and ok.headers["location"] == "/app"
        assert (await client.get("/app")).status_code == 200
    finally:
        await cm.__aexit__(None, None, None)

    cm, client = await _password_step(app, tenant_a)
    try:
        await client.refresh_csrf("/login/mfa")
        reused = await client.post_form("/login/mfa", {"code": codes[0]})  # single use
        assert reused.status_code == 422
        # the step after the enrolment's: now or the next one (inside the clock drift window)
        fresh = totp.at((enrol_step + 1) * totp.interval)
        assert (await client.post_form("/login/mfa", {"code": fresh})).status_code == 303
    finally:
        await cm.__aexit__(None, None, None)

    off = await client_a.post_form(
        "/settings/security/mfa/disable",
        {"current_password": tenant_a.password, "code": codes[1]},
    )
    assert off.status_code == 303
    assert 'id="mfa-status">Off' in (await client_a.get("/settings/security")).text
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        kinds = [r["kind"] for r in await conn.fetch("select kind from security_alerts")]
    assert "mfa_enabled" in kinds and "mfa_disabled" in kinds


async def test_workspace_can_require_mfa_for_owners(
    app: Any, client_a: Any, tenant_a: Account, client_b: Any
) -> None:
    refused = await client_a.post_form(
        "/settings/security/policy", {"mfa_required_for_owners": "on"}
    )
    assert refused.status_code == 422 and "for yourself first" in refused.text
    await _enrol(client_a, tenant_a)
    saved = await client_a.post_form("/settings/security/policy", {"mfa_required_for_owners": "on"})
    assert saved.status_code == 303

    co_owner = await add_member(tenant_a, role="owner", tag="coowner")
    member = await add_member(tenant_a, role="member", tag="member")
    async with browser(app, FIREFOX) as owner_tab, browser(app, FIREFOX) as member_tab:
        await owner_tab.refresh_csrf("/login")
        signed = await owner_tab.post_form(
            "/login", {"email": co_owner.email, "password": co_owner.password}
        )
        assert signed.status_code == 303
        blocked = await owner_tab.get("/contacts")
        assert blocked.status_code == 403 and "requires two-factor authentication" in blocked.text
        setup = await owner_tab.get("/settings/security")
        assert setup.status_code == 200 and "requires two-factor authentication" in setup.text
        await member_tab.login(member.email, member.password)
        assert (await member_tab.get("/app")).status_code == 200  # members aren't held
    assert (await client_b.get("/app")).status_code == 200  # nor is another workspace
