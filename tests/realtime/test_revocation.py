"""Live revocation: removing a member, changing a role, revoking a session, changing the
password or deleting the account closes (or narrows) that person's open sockets within a
second — the socket on one web process, the change made through the other (or the worker)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed

from app.core import sessions
from app.core.db import global_transaction, tenant_transaction
from app.privacy import deletion
from app.realtime.channels import alerts_channel, board_channel, publish
from tests.helpers import PASSWORD, Account, browser_client
from tests.realtime.servers import WebProcess, connect, session_cookie
from tests.realtime.test_live import live_client, recv
from tests.security.helpers import add_member, join_workspace

WITHIN = 1.0  # seconds, from the moment the change is made (its response) to the close


async def closed_within(ws: Any, started: float) -> int:
    """Wait for the server to close the socket; return its close code (fails after 5 s).
    `started` is when the change was done (a socket closed before that counts as 0 s)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed as closed:
        elapsed = time.monotonic() - started
        assert elapsed < WITHIN, f"closed after {elapsed:.2f} s"
        assert closed.rcvd is not None
        return closed.rcvd.code


async def _membership(account: Account) -> uuid.UUID:
    async with tenant_transaction(account.tenant_id) as conn:
        found = await conn.fetchval(
            "select id from memberships where user_id = $1", account.user_id
        )
    return uuid.UUID(str(found))


def _sid(client: Any) -> str:
    return next(v for k, v in client.cookies.items() if k.endswith("odex_session"))


async def test_removed_member_and_demoted_admin_lose_their_sockets(
    app: Any, two_servers: list[WebProcess], client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    one, two = two_servers
    member, admin = await add_member(tenant_a), await add_member(tenant_a, "admin")
    async with browser_client(app) as m, browser_client(app) as a:
        await m.login(member.email, PASSWORD)
        await a.login(admin.email, PASSWORD)
        member_ws = await connect(one, session_cookie(m))
        admin_ws = await connect(one, session_cookie(a))
        async with live_client(two, client_a) as owner:
            removed = await owner.post(f"/settings/team/members/{await _membership(member)}/remove")
            started = time.monotonic()
            assert removed.status_code == 303
            assert await closed_within(member_ws, started) == 4401
            demoted = await owner.post(
                f"/settings/team/members/{await _membership(admin)}/role", data={"role": "member"}
            )
            started = time.monotonic()
            assert demoted.status_code == 303
            assert await closed_within(admin_ws, started) == 1012  # htmx-ext-ws reconnects
        # the reconnected socket has a member's channels: no security alerts any more
        again = await connect(two, session_cookie(a))
        await publish(alerts_channel(tenant_a.tenant_id), '<div id="alert-x">Intruder</div>')
        await publish(board_channel(tenant_a.tenant_id), '<div id="marker">board</div>')
        first = await recv(again)
        assert "marker" in first and "Intruder" not in first
        await again.close()
        refused = await m.get("/app")  # and the removed member's tab is signed out
        assert refused.headers["location"].startswith("/login")


async def test_revoked_session_and_password_change_close_the_other_tabs_sockets(
    app: Any, two_servers: list[WebProcess], tenant_a: Account, tenant_b: Account
) -> None:
    one, two = two_servers
    person = await add_member(tenant_a)
    async with (
        browser_client(app) as tab1,
        browser_client(app) as tab2,
        browser_client(app) as tab3,
    ):
        for tab in (tab1, tab2, tab3):
            await tab.login(person.email, PASSWORD)
        ws1 = await connect(one, session_cookie(tab1))
        ws2 = await connect(one, session_cookie(tab2))
        async with live_client(two, tab3) as manager:
            key = sessions.session_key(_sid(tab1)).removeprefix("sess:")
            revoked = await manager.post(f"/settings/sessions/{key}/revoke")
            started = time.monotonic()
            assert revoked.status_code == 303
            assert await closed_within(ws1, started) == 4401
            new = "a completely new passphrase"
            changed = await manager.post(
                "/settings/profile",
                data={
                    "section": "password",
                    "current_password": PASSWORD,
                    "new_password": new,
                    "confirm": new,
                },
            )
            started = time.monotonic()
            assert changed.status_code == 303
            assert await closed_within(ws2, started) == 4401
            assert (await manager.get("/app")).status_code == 200  # the tab that changed it


async def test_deleted_account_loses_its_socket(
    app: Any, two_servers: list[WebProcess], tenant_a: Account, tenant_b: Account
) -> None:
    person = await add_member(tenant_a)
    async with browser_client(app) as tab:
        await tab.login(person.email, PASSWORD)
        ws = await connect(two_servers[0], session_cookie(tab))
        scheduled = await tab.post_form(
            "/settings/delete", {"scope": "account", "password": PASSWORD}
        )
        assert scheduled.status_code == 303
        async with global_transaction() as conn:
            request_id = await conn.fetchval(
                "update deletion_requests set due_at = now() - interval '1 second'"
                " where subject_user_id = $1 returning id",
                person.user_id,
            )
        assert await deletion.purge_deletion(None, str(request_id)) == "completed"  # the job
        started = time.monotonic()
        assert await closed_within(ws, started) == 4401


async def test_owner_elsewhere_gets_only_a_members_channels_here(
    app: Any, two_servers: list[WebProcess], tenant_a: Account, tenant_b: Account
) -> None:
    """A owns workspace A and is a member of B: their socket in B carries B's board and no
    alerts of B, and nothing of A."""
    await join_workspace(tenant_a.user_id, tenant_b.tenant_id, "member")
    async with browser_client(app) as tab:
        await tab.login(tenant_a.email, PASSWORD)
        await tab.post_form(f"/workspaces/{tenant_b.tenant_id}/switch")
        ws = await connect(two_servers[1], session_cookie(tab))
        await publish(alerts_channel(tenant_b.tenant_id), '<div id="alert-b">B alert</div>')
        await publish(alerts_channel(tenant_a.tenant_id), '<div id="alert-a">A alert</div>')
        await publish(board_channel(tenant_a.tenant_id), '<div id="board-a">A board</div>')
        await publish(board_channel(tenant_b.tenant_id), '<div id="board-b">B board</div>')
        first = await recv(ws)
        assert "B board" in first and "alert" not in first and "A board" not in first
        await ws.close()
