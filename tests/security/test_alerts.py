"""Security alerts: raised by account events, stored, mailed, pushed live; ack and revoke."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from redis.asyncio import Redis

from app.core.db import self_scoped, tally, tenant_transaction
from app.security import queries as security_queries
from app.security.alerts import raise_security_alert
from app.security.audit import verify_chain
from tests.helpers import Account, browser_client, run_jobs
from tests.security.helpers import CHROME, FIREFOX, add_member, browser

ALERT_ID = re.compile(r'id="alert-([0-9a-f-]{36})"')


async def _alert_rows(account: Account) -> list[Any]:
    async with tenant_transaction(account.tenant_id) as conn:
        return list(await conn.fetch("select * from security_alerts order by created_at"))


async def test_login_from_new_device_alerts_admins_who_revoke_that_session(
    app: Any, client_a: Any, tenant_a: Account, client_b: Any, tenant_b: Account, mailbox: Any
) -> None:
    colleague = await add_member(tenant_a)
    async with browser(app, FIREFOX) as usual, browser(app, CHROME) as stranger:
        await usual.login(colleague.email, colleague.password)  # first device: remembered
        assert await _alert_rows(tenant_a) == []
        assert (await usual.post_form("/logout")).status_code == 303
        await usual.login(colleague.email, colleague.password)  # same device: still quiet
        assert await _alert_rows(tenant_a) == []

        await stranger.login(colleague.email, colleague.password)
        [alert] = await _alert_rows(tenant_a)
        assert alert["kind"] == "login_new_device" and alert["session_key"]

        page = await client_a.get("/settings/alerts")
        assert "signed in from a new device or network" in page.text
        assert colleague.email in page.text and "Chrome on macOS" in page.text
        assert (await client_b.get("/settings/alerts")).text.count('class="card alert-card') == 0

        await run_jobs()
        [mail] = [m for m in mailbox.to(tenant_a.email) if "new device" in m["Subject"]]
        assert colleague.email in mail["Subject"]
        assert not [m for m in mailbox.to(tenant_b.email) if "Security alert" in m["Subject"]]

        # a plain member can't see or act on alerts
        assert (await stranger.get("/settings/alerts")).status_code == 403
        denied = await stranger.post_form(
            f"/settings/alerts/{alert['id']}/revoke-session", htmx=True
        )
        assert denied.status_code == 403
        # tenant B's admin can't reach tenant A's alert
        other = await client_b.post_form(f"/settings/alerts/{alert['id']}/revoke-session")
        assert other.status_code == 404

        card = await client_a.post_form(f"/settings/alerts/{alert['id']}/revoke-session", htmx=True)
        assert card.status_code == 200 and "Session signed out" in card.text
        assert (await stranger.get("/app")).status_code == 303  # back to the login page
        assert (await usual.get("/app")).status_code == 200  # the known device stays in

    audit = await client_a.get("/settings/audit")
    assert "security.login_new_device" in audit.text and "security.session_revoked" in audit.text
    assert (await verify_chain(tenant_a.tenant_id)).ok


async def test_alert_is_pushed_live_to_the_tenant_channel(
    app: Any, services: dict[str, str], tenant_a: Account, tenant_b: Account
) -> None:
    listener = Redis.from_url(services["REDIS_URL"])
    pubsub = listener.pubsub()
    await pubsub.subscribe(f"alerts:{tenant_a.tenant_id}", f"alerts:{tenant_b.tenant_id}")
    await pubsub.get_message(timeout=1)  # subscription confirmations
    await pubsub.get_message(timeout=1)
    await raise_security_alert(
        tenant_a.tenant_id, "export_requested", tenant_a.user_id, {"summary": "all contacts"}
    )
    message = None
    for _ in range(50):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message:
            break
    assert message is not None and message["channel"].decode() == f"alerts:{tenant_a.tenant_id}"
    html = message["data"].decode()
    assert 'hx-swap-oob="afterbegin:#alert-list"' in html and "beforeend:#toasts" in html
    assert "requested a data export: all contacts" in html
    assert 'id="alerts-badge" hx-swap-oob="true"' in html  # the header's open-alerts count
    assert 'data-count="' in html
    await asyncio.sleep(0)
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2) is None
    await pubsub.aclose()
    await listener.aclose()


async def test_account_and_team_events_raise_alerts(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    member = await add_member(tenant_a)
    ids = {}
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        for r in await conn.fetch("select id, user_id from memberships"):
            ids[r["user_id"]] = r["id"]
    await client_a.post_form(
        f"/settings/team/members/{ids[member.user_id]}/role", {"role": "admin"}
    )
    await client_a.post_form(f"/settings/team/members/{ids[member.user_id]}/remove")
    changed = await client_a.post_form(
        "/settings/profile",
        {
            "section": "password",
            "current_password": tenant_a.password,
            "new_password": "a much longer passphrase 42",
            "confirm": "a much longer passphrase 42",
        },
    )
    assert changed.status_code == 303
    kinds = [r["kind"] for r in await _alert_rows(tenant_a)]
    assert kinds == ["role_changed", "member_removed", "password_changed"]
    page = (await client_a.get("/settings/alerts")).text
    assert "changed a member&#39;s role" in page and "from: member" in page and "to: admin" in page
    assert member.email in page  # the member concerned is named
    assert await _alert_rows(tenant_b) == []

    # acknowledging marks it and drops it from the open list
    first = ALERT_ID.search(page)
    assert first
    ack = await client_a.post_form(f"/settings/alerts/{first.group(1)}/ack", htmx=True)
    assert "Acknowledged" in ack.text
    open_page = (await client_a.get("/settings/alerts?open=1")).text
    assert first.group(1) not in open_page


async def test_header_badge_counts_open_alerts_of_this_workspace(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """Admins see how many alerts are still open; acknowledging one lowers it; members don't
    get the badge, and another workspace's alerts never count."""
    page = await client_a.get("/app")
    assert 'hx-get="/settings/alerts/badge"' in page.text
    first = await client_a.get("/settings/alerts/badge")
    before = int(m.group(1)) if (m := re.search(r'data-count="(\d+)"', first.text)) else 0
    alert_id = await raise_security_alert(
        tenant_a.tenant_id, "export_requested", tenant_a.user_id, {"summary": "badge check"}
    )
    await raise_security_alert(
        tenant_b.tenant_id, "export_requested", tenant_b.user_id, {"summary": "B's alert"}
    )
    raised = await client_a.get("/settings/alerts/badge")
    assert f'data-count="{before + 1}"' in raised.text
    acked = await client_a.post_form(f"/settings/alerts/{alert_id}/ack")
    assert acked.status_code in (200, 303)
    after = (await client_a.get("/settings/alerts/badge")).text
    assert (f'data-count="{before}"' in after) if before else ("data-count" not in after)
    member = await add_member(tenant_a, "member")
    async with browser_client(app) as as_member:
        await as_member.login(member.email, member.password)
        assert 'hx-get="/settings/alerts/badge"' not in (await as_member.get("/app")).text
        assert (await as_member.get("/settings/alerts/badge")).status_code == 403
    b_badge = (await client_b.get("/settings/alerts/badge")).text
    assert 'data-count="1"' in b_badge  # only B's own alert
    assert "badge check" not in b_badge
    # the badge's count is one self-scoped statement: no transaction of its own
    with tally() as opened:
        assert (await client_b.get("/settings/alerts/badge")).status_code == 200
    assert opened[0] == 0


async def test_badge_count_statement_leaves_no_scope(tenant_a: Account, tenant_b: Account) -> None:
    """odex_open_alert_count sets its RLS scope for its own statement only (autocommit): the
    pooled connection keeps nothing of it, and it counts the asked workspace's alerts only."""
    await raise_security_alert(
        tenant_b.tenant_id, "export_requested", tenant_b.user_id, {"summary": "B only"}
    )
    scope = "select current_setting('app.tenant_id', true), current_setting('app.user_id', true)"

    async def count_then_scope(conn: Any) -> tuple[int, tuple[Any, ...]]:
        count = await security_queries.open_alert_count_scoped(
            conn, tenant_a.tenant_id, tenant_a.user_id
        )
        return count, tuple(await conn.fetchrow(scope))

    count, after = await self_scoped(tenant_a.tenant_id, tenant_a.user_id, count_then_scope)
    assert after in ((None, None), ("", ""))
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert count == await security_queries.open_alert_count(conn)
