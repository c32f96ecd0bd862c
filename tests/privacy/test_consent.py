"""Cookie consent: only the session cookie before a choice, the ledger, usage events by consent."""

from __future__ import annotations

import html
import re
from typing import Any

import asyncpg
import pytest

from app.core.db import tenant_transaction
from app.privacy.usage import flush_usage_events
from tests.conftest import unique_email
from tests.helpers import Account, browser_client, run_jobs


def cookie_names(client: Any) -> set[str]:
    return {c.name for c in client.cookies.jar}


async def analytics_visitor_events(raw_conn: Any, analytics_id: str | None) -> int:
    return int(
        await raw_conn.fetchval(
            "select count(*) from visitor_events where category = 'analytics' "
            "and analytics_id is not distinct from $1",
            analytics_id,
        )
    )


async def test_banner_and_only_session_cookie_before_choice(client: Any) -> None:
    page = await client.get("/login")
    assert 'id="cookie-banner"' in page.text
    for label in ("Accept analytics", "Reject", "Preferences"):
        assert label in page.text
    # equal weight: the three choices share one button style
    assert page.text.count('class="btn btn-outline-dark consent-btn"') == 3
    assert cookie_names(client) == {"odex_session"}


async def test_reject_accept_withdraw_as_visitor(client: Any, raw_conn: Any) -> None:
    await flush_usage_events()
    before = await raw_conn.fetchval(
        "select count(*) from visitor_events where category = 'analytics'"
    )
    await client.refresh_csrf("/login")
    r = await client.post_form("/privacy/consent", {"choice": "reject", "next": "/login"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = await client.get("/login")
    assert 'id="cookie-banner"' not in page.text  # the choice is remembered
    assert cookie_names(client) == {"odex_session"}
    await flush_usage_events()
    after = await raw_conn.fetchval(
        "select count(*) from visitor_events where category = 'analytics'"
    )
    assert after == before  # no analytics without consent

    r = await client.post_form(
        "/privacy/consent", {"choice": "accept", "next": "/login", "source": "banner"}
    )
    assert "odex_analytics" in cookie_names(client)
    analytics_id = client.cookies.get("odex_analytics")
    await client.get("/login")
    await client.get("/privacy")
    await flush_usage_events()
    rows = await raw_conn.fetch(
        "select kind, path from visitor_events where analytics_id = $1 order by created_at",
        analytics_id,
    )
    assert [(r["kind"], r["path"]) for r in rows] == [("page", "/login"), ("page", "/privacy")]

    r = await client.post_form(
        "/privacy/consent",
        {"choice": "reject", "next": "/settings/cookies", "source": "preferences"},
    )
    assert "odex_analytics" not in cookie_names(client)  # deleted at once
    await client.get("/login")
    await flush_usage_events()
    assert await analytics_visitor_events(raw_conn, analytics_id) == 2  # stopped

    session_visitor = await raw_conn.fetch(
        "select granted, source, page, policy_version, ip, user_agent from consents "
        "where visitor_id = (select visitor_id from consents where page = '/settings/cookies' "
        "order by id desc limit 1) order by id"
    )
    assert [r["granted"] for r in session_visitor] == [False, True, False]
    assert session_visitor[-1]["source"] == "preferences"
    assert session_visitor[-1]["policy_version"] >= 1
    assert session_visitor[-1]["user_agent"]


async def test_ledger_is_append_only(raw_conn: Any) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await raw_conn.execute("update consents set granted = true")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await raw_conn.execute("delete from consents")


async def test_signed_in_usage_goes_to_own_tenant_only(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await flush_usage_events()
    r = await client_a.post_form("/privacy/consent", {"choice": "accept", "next": "/app"})
    assert r.status_code == 303
    await client_a.get("/app")
    await client_a.get("/settings/profile")
    await client_b.get("/app")  # B never consented: no analytics for B
    await flush_usage_events()
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        pages = await conn.fetch(
            "select path, user_id from usage_events where kind = 'page' order by created_at"
        )
        consents = await conn.fetch(
            "select user_id, granted from consents where user_id = $1", tenant_a.user_id
        )
    assert [p["path"] for p in pages] == ["/app", "/settings/profile"]
    assert {p["user_id"] for p in pages} == {tenant_a.user_id}
    assert [(c["user_id"], c["granted"]) for c in consents] == [(tenant_a.user_id, True)]
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert (
            await conn.fetchval("select count(*) from usage_events where category = 'analytics'")
            == 0
        )
        # but B's login was recorded as a security event, consent or not
        kinds = [r["kind"] for r in await conn.fetch("select kind from usage_events")]
    assert kinds == ["login"]


async def test_failed_login_is_a_security_event(client: Any, raw_conn: Any) -> None:
    await flush_usage_events()
    before = await raw_conn.fetchval(
        "select count(*) from visitor_events where kind = 'login_failed'"
    )
    await client.refresh_csrf("/login")
    r = await client.post_form("/login", {"email": "nobody@example.com", "password": "wrong pw"})
    assert r.status_code == 422
    await flush_usage_events()
    after = await raw_conn.fetchval(
        "select count(*) from visitor_events where kind = 'login_failed'"
    )
    assert after == before + 1


async def test_cookie_settings_page(client_a: Any) -> None:
    page = await client_a.get("/settings/cookies")
    assert page.status_code == 200
    assert "not chosen yet" in page.text
    await client_a.post_form("/privacy/consent", {"choice": "accept", "next": "/settings/cookies"})
    page = await client_a.get("/settings/cookies")
    assert "analytics allowed" in page.text and "Withdraw consent" in page.text


async def test_consents_go_only_with_the_account(client_a: Any, tenant_a: Any) -> None:
    """The app can't delete a live account's proof of consent, only a deleted account's."""
    from app.core.db import global_transaction

    await client_a.post_form("/privacy/consent", {"choice": "accept", "next": "/app"})
    async with global_transaction() as conn:
        assert await conn.fetchval("select odex_private.forget_consents($1)", tenant_a.user_id) == 0
        assert (
            await conn.fetchval(
                "select count(*) from consents where user_id = $1", tenant_a.user_id
            )
            == 1
        )


async def test_banner_keeps_the_invitation_link(
    app: Any, client_a: Any, mailbox: Any, raw_conn: Any
) -> None:
    """Accept, Reject and Preferences on the invitation page bring the visitor back to the
    same invitation (token and all); the consent ledger records the page, never the token."""
    email = unique_email("banner")
    sent = await client_a.post_form("/settings/team/invite", {"email": email, "role": "member"})
    assert sent.status_code == 303
    await run_jobs()
    link = mailbox.last_link(email, "/invite/accept")
    here = link[link.index("/invite/accept") :]
    token = here.split("token=")[1]
    for choice in ("accept", "reject"):
        async with browser_client(app) as visitor:
            page = await visitor.get(here)
            assert page.status_code == 200 and 'id="cookie-banner"' in page.text
            field = re.search(r'name="next" value="([^"]*)"', page.text)
            assert field is not None and html.unescape(field.group(1)) == here
            await visitor.refresh_csrf(here)
            chose = await visitor.post_form(
                "/privacy/consent", {"choice": choice, "next": here, "source": "banner"}
            )
            assert chose.status_code == 303 and chose.headers["location"] == here
            back = await visitor.get(chose.headers["location"])
            assert back.status_code == 200 and "didn't work" not in back.text
            assert f'value="{token}"' in back.text  # the accept form still holds the token
    # Preferences: the page offers the way back, and saving there keeps it
    async with browser_client(app) as visitor:
        page = await visitor.get(here)
        prefs = re.search(r'href="(/settings/cookies\?next=[^"]*)"', page.text)
        assert prefs is not None
        cookies = await visitor.get(html.unescape(prefs.group(1)))
        assert f'href="{html.escape(here)}" id="cookies-back"' in cookies.text
    pages = await raw_conn.fetch("select page from consents where page like '/invite/accept%'")
    assert pages and all(r["page"] == "/invite/accept" for r in pages)
    assert not await raw_conn.fetchval(
        "select count(*) from consents where page like '%' || $1 || '%'", token
    )


async def test_reset_page_banner_keeps_its_token(app: Any) -> None:
    async with browser_client(app) as visitor:
        here = "/password/reset?token=abc123DEF"
        page = await visitor.get(here)
        field = re.search(r'name="next" value="([^"]*)"', page.text)
        assert field is not None and html.unescape(field.group(1)) == here
        await visitor.refresh_csrf(here)
        chose = await visitor.post_form("/privacy/consent", {"choice": "reject", "next": here})
        assert chose.headers["location"] == here
