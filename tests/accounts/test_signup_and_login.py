"""Sign-up, email verification, login/logout, session cookie and password reset over HTTP."""

from __future__ import annotations

from typing import Any

from app.accounts.tables import Membership, Tenant, User
from app.core.db import global_transaction, tenant_transaction
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Account, run_jobs


async def _signup(client: Any, **over: str) -> Any:
    data = {
        "name": "Ada Lovelace",
        "email": unique_email("ada"),
        "company": "Analytical Ltd",
        "password": PASSWORD,
    }
    data.update(over)
    await client.refresh_csrf("/signup")
    return await client.post_form("/signup", data), data


async def test_signup_creates_tenant_owner_and_verification_mail(
    client: Any, mailbox: Any, tenant_b: Account
) -> None:
    response, data = await _signup(client)
    assert response.status_code == 303 and response.headers["location"] == "/app"
    page = await client.get("/app")
    assert "Verify your email address" in page.text and "Analytical Ltd" in page.text

    async with global_transaction():
        user = await User.select().where(User.email == data["email"]).first()
    assert user is not None and user["email_verified_at"] is None
    assert user["password_hash"].startswith("$argon2id$")
    tenant_id = (await client.get("/settings/company")).status_code  # signed in: page works
    assert tenant_id == 200

    await run_jobs()  # the outbox job delivers through the real SMTP sink
    link = mailbox.last_link(data["email"], "/verify")
    verified = await client.get(link)
    assert verified.status_code == 303
    assert "Verify your email address" not in (await client.get("/app")).text
    again = await client.get(link)  # single use
    assert again.status_code == 400 and "already used" in again.text


async def test_signup_rejects_bad_input_and_keeps_values(client: Any, tenant_a: Account) -> None:
    cases = [
        ({"email": "not-an-email"}, "valid email"),
        ({"email": tenant_a.email.upper()}, "already exists"),
        ({"password": "short"}, "at least 8"),
        ({"password": "password123"}, "too common"),
        ({"password": "x" * 10_000}, "at most 128"),
        ({"name": ""}, "Enter your name"),
        ({"company": "c" * 500}, "at most 200"),
    ]
    used = []
    for override, message in cases:
        response, data = await _signup(client, **override)
        if "email" not in override:
            used.append(data["email"])
        assert response.status_code == 422, override
        assert message in response.text, (override, response.text[:300])
        if "name" not in override:
            assert "Ada Lovelace" in response.text  # what the user typed is kept
    async with global_transaction():
        assert await User.count().where(User.email.is_in(used)) == 0  # nothing half-written


async def test_htmx_signup_error_swaps_only_the_form(client: Any) -> None:
    await client.refresh_csrf("/signup")
    response = await client.post_form(
        "/signup", {"name": "X", "email": "bad", "company": "Y", "password": PASSWORD}, htmx=True
    )
    assert response.status_code == 422
    assert response.text.lstrip().startswith("<form") and "<html" not in response.text


async def test_only_the_session_cookie_is_set_and_it_is_httponly_lax(client: Any) -> None:
    response = await client.get("/login")
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1
    cookie = cookies[0]
    assert cookie.startswith("odex_session=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie


async def test_login_rotates_session_id_and_logout_ends_it(client: Any, tenant_a: Account) -> None:
    await client.refresh_csrf("/login")
    before = client.cookies.get("odex_session")
    response = await client.post_form(
        "/login", {"email": tenant_a.email, "password": tenant_a.password}
    )
    assert response.status_code == 303
    after = client.cookies.get("odex_session")
    assert after and after != before
    assert tenant_a.company in (await client.get("/app")).text
    await client.refresh_csrf("/app")
    assert (await client.post_form("/logout")).status_code == 303
    assert (await client.get("/app")).status_code == 303  # back to the login page


async def test_wrong_password_and_unknown_email_get_the_same_message(
    client: Any, tenant_a: Account
) -> None:
    await client.refresh_csrf("/login")
    for email, password in [(tenant_a.email, "wrong password!"), ("nobody@example.com", "x" * 9)]:
        response = await client.post_form("/login", {"email": email, "password": password})
        assert response.status_code == 422
        assert "match an account" in response.text


async def test_forged_or_missing_csrf_token_is_refused(client: Any, tenant_a: Account) -> None:
    await client.refresh_csrf("/login")
    data = {"email": tenant_a.email, "password": tenant_a.password}
    forged = await client.post("/login", data=data, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403 and "form expired" in forged.text
    missing = await client.post("/login", data=data)
    assert missing.status_code == 403
    htmx = await client.post("/login", data=data, headers={"HX-Request": "true"})
    assert htmx.status_code == 403


async def test_password_reset_single_use_and_expiring(
    client: Any, mailbox: Any, tenant_a: Account, owner_conn: Any
) -> None:
    await client.refresh_csrf("/password/forgot")
    response = await client.post_form("/password/forgot", {"email": tenant_a.email})
    assert "reset link is on its way" in response.text
    unknown = await client.post_form("/password/forgot", {"email": "ghost@example.com"})
    assert "reset link is on its way" in unknown.text  # no account enumeration
    await run_jobs()
    link = mailbox.last_link(tenant_a.email, "/password/reset")
    token = link.split("token=")[1]
    weak = await client.post_form(
        "/password/reset", {"token": token, "password": "123", "confirm": "123"}
    )
    assert weak.status_code == 422 and "at least 8" in weak.text
    new = "a brand new passphrase"
    done = await client.post_form(
        "/password/reset", {"token": token, "password": new, "confirm": new}
    )
    assert done.status_code == 303
    await client.refresh_csrf("/app")  # signed in with a fresh session
    reused = await client.post_form(
        "/password/reset", {"token": token, "password": new, "confirm": new}
    )
    assert reused.status_code == 422 and "already used" in reused.text
    async with global_transaction():
        assert (await User.select().where(User.id == tenant_a.user_id).first()) is not None
    # an expired token is refused with its own message
    await client.refresh_csrf("/password/forgot")
    await client.post_form("/password/forgot", {"email": tenant_a.email})
    await run_jobs()
    token2 = mailbox.last_link(tenant_a.email, "/password/reset").split("token=")[1]
    await owner_conn.execute(
        "update email_tokens set expires_at = now() - interval '1 minute' where used_at is null"
    )
    expired = await client.post_form(
        "/password/reset", {"token": token2, "password": new, "confirm": new}
    )
    assert expired.status_code == 422 and "expired" in expired.text
    # the old password no longer works, the new one does
    async with client.__class__(transport=client._transport, base_url="http://testserver") as c2:
        await c2.login(tenant_a.email, new)


async def test_signup_is_atomic_when_mail_template_fails(client: Any, monkeypatch: Any) -> None:
    """If anything in sign-up fails, no user, tenant or membership is left behind."""
    from app.accounts import services

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("mail queue down")

    monkeypatch.setattr(services, "queue_mail", broken)
    email = unique_email("atomic")
    response, _ = await _signup(client, email=email)
    assert response.status_code == 500 and "Something went wrong" in response.text
    assert "Traceback" not in response.text
    async with global_transaction():
        assert await User.count().where(User.email == email) == 0
    async with global_transaction() as conn:
        assert await conn.fetchval("select count(*) from tenants") == 0  # RLS: none visible
    _ = (Membership, Tenant, tenant_transaction)
