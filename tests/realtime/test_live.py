"""The websocket: session and Origin checks, channels per tenant/user/role, live board moves
across two web processes (Redis pub/sub), presence."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from app.realtime.channels import alerts_channel, publish
from tests.deals.helpers import add_colleague, make_deal, stages
from tests.helpers import Account, BrowserClient, browser_client
from tests.realtime.servers import WebProcess, connect, session_cookie

WAIT = 15  # seconds a socket may take to get a message before the test fails (a guard only)


async def recv(ws: Any) -> str:
    return str(await asyncio.wait_for(ws.recv(), WAIT))


async def recv_until(ws: Any, needle: str) -> str:
    """The first message containing `needle`, skipping presence updates."""
    while True:
        message = await recv(ws)
        if needle in message:
            return message
        assert "presence" in message, f"unexpected message: {message[:300]}"


def live_client(server: WebProcess, client: BrowserClient) -> httpx.AsyncClient:
    """A real HTTP client to `server` with the session of an in-process test client."""
    return httpx.AsyncClient(
        base_url=server.url,
        headers={"Cookie": session_cookie(client), "X-CSRF-Token": client.csrf},
        timeout=WAIT,
    )


async def test_socket_refuses_anonymous_and_foreign_origins(
    two_servers: list[WebProcess], client_a: Any, client: Any
) -> None:
    server = two_servers[0]
    cookie = session_cookie(client_a)
    for kwargs in (
        {"cookie": None},  # not logged in
        {"cookie": session_cookie(client) or "odex_session=anonymous"},  # anonymous session
        {"cookie": "odex_session=made-up-session-id"},
        {"cookie": cookie, "origin": "http://evil.example"},
        {"cookie": cookie, "origin": f"http://127.0.0.1:{server.port + 1}"},
        {"cookie": cookie, "origin": None},  # no Origin header at all
    ):
        with pytest.raises(InvalidStatus) as refused:
            await connect(server, **kwargs)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403, kwargs
    ws = await connect(server, cookie)  # the same cookie from the right origin works
    await ws.close()


async def test_move_through_one_process_reaches_sockets_on_the_other_and_not_tenant_b(
    two_servers: list[WebProcess],
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
) -> None:
    one, two = two_servers
    s = await stages(tenant_a)
    deal = await make_deal(tenant_a, "Cross-process")
    b_deal = await make_deal(tenant_b, "Only for B")
    watcher_a = await connect(two, session_cookie(client_a))
    watcher_b = await connect(two, session_cookie(client_b))
    async with live_client(one, client_a) as http:
        moved = await http.post(
            f"/deals/{deal}/move",
            data={"stage_id": str(s["Won"].id), "version": "1"},
            headers={"HX-Request": "true"},
        )
        assert moved.status_code == 200 and "x-odex-move" not in moved.headers
    pushed = await recv_until(watcher_a, "Cross-process")
    won = pushed.split(f'id="stage-{s["Won"].id}"')[1].split("</section>")[0]
    assert "Cross-process" in won and 'hx-swap-oob="true"' in pushed
    # B's own event comes next on B's socket: had A's event leaked, it would have come first
    b_stages = await stages(tenant_b)
    async with live_client(two, client_b) as http_b:
        await http_b.post(
            f"/deals/{b_deal}/move",
            data={"stage_id": str(b_stages["Won"].id), "version": "1"},
            headers={"HX-Request": "true"},
        )
    first_for_b = await recv(watcher_b)
    assert "Only for B" in first_for_b and "Cross-process" not in first_for_b
    assert str(tenant_a.tenant_id) not in first_for_b
    for ws in (watcher_a, watcher_b):
        await ws.close()


async def test_creates_edits_and_deletes_are_pushed_to_boards_and_lists(
    two_servers: list[WebProcess], client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await make_deal(tenant_b, "Noise in B")
    watcher = await connect(two_servers[1], session_cookie(client_a))
    deal = await make_deal(tenant_a, "Fresh deal")
    created = await recv_until(watcher, "Fresh deal")
    assert 'hx-swap-oob="afterbegin:#deal-rows"' in created and "deal-card" in created
    lead = (await stages(tenant_a))["Lead"]
    edited = await client_a.post_form(
        f"/deals/{deal}",
        {
            "title": "Renamed deal",
            "amount": "5",
            "currency": "USD",
            "stage_id": str(lead.id),
            "version": "1",
        },
    )
    assert edited.status_code == 303
    update = await recv_until(watcher, "Renamed deal")
    assert f'id="deal-row-{deal}" hx-swap-oob="true"' in update and "5.00 USD" in update
    await client_a.post_form(f"/deals/{deal}/delete", {"version": "2"})
    deleted = await recv_until(watcher, "delete")
    assert f'id="deal-{deal}" hx-swap-oob="delete"' in deleted
    await watcher.close()


async def test_alerts_only_reach_admins_and_feeds_only_their_user(
    app: Any,
    two_servers: list[WebProcess],
    client_a: Any,
    tenant_a: Account,
    tenant_b: Account,
    mailbox: Any,
) -> None:
    member = await add_colleague(tenant_a, mailbox)
    async with browser_client(app) as col:
        await col.login(member.email, member.password)
        member_ws = await connect(two_servers[0], session_cookie(col))
        owner_ws = await connect(two_servers[1], session_cookie(client_a))
        await publish(alerts_channel(tenant_a.tenant_id), '<div id="alert-x">Intruder</div>')
        await publish(alerts_channel(tenant_b.tenant_id), '<div id="alert-y">Not yours</div>')
        assert "Intruder" in await recv(owner_ws)
        # the owner assigns a deal to the member: only the member's feed gets the bell
        lead = (await stages(tenant_a))["Lead"]
        await client_a.post_form(
            "/deals",
            {
                "title": "For the member",
                "amount": "1",
                "currency": "EUR",
                "stage_id": str(lead.id),
                "owner_id": str(member.user_id),
            },
        )
        seen = [await recv(member_ws), await recv(member_ws)]  # the bell and the board
        bell = next(m for m in seen if f"bell-{tenant_a.tenant_id}" in m)
        assert "bell-count" in bell and ">1<" in bell and "assigned you the deal" in bell
        assert any("deal-card" in m and "For the member" in m for m in seen)
        assert not any("Intruder" in m for m in seen)  # the alert went to admins only
        owner_next = await recv_until(owner_ws, "For the member")
        assert f"bell-{tenant_a.tenant_id}" not in owner_next
        await member_ws.close()
        await owner_ws.close()


async def test_presence_shows_who_is_on_the_board(
    app: Any,
    two_servers: list[WebProcess],
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
    mailbox: Any,
) -> None:
    from app.deals import pipelines
    from tests.deals.helpers import current_of

    board = await pipelines.load_board(await current_of(tenant_a))
    query = f"?board={board.pipeline.id}"
    member = await add_colleague(tenant_a, mailbox)
    async with browser_client(app) as col:
        await col.login(member.email, member.password)
        owner_ws = await connect(two_servers[0], session_cookie(client_a), query=query)
        mine = await recv_until(owner_ws, "presence-board")
        assert tenant_a.name in mine and member.name not in mine
        b_ws = await connect(two_servers[0], session_cookie(client_b))
        member_ws = await connect(two_servers[1], session_cookie(col), query=query)
        both = await recv_until(owner_ws, member.name)
        assert tenant_a.name in both and f"presence-board-{board.pipeline.id}" in both
        page = await client_a.get("/deals/board")
        assert member.name in page.text  # the page itself starts with the list
        await member_ws.close()
        left = await recv_until(owner_ws, "presence-board")
        assert member.name not in left and tenant_a.name in left
        # tenant B's socket saw none of it: its first message is its own tenant's board event
        await make_deal(tenant_b, "B marker")
        first = await recv(b_ws)
        assert "B marker" in first and member.name not in first
        await owner_ws.close()
        await b_ws.close()


async def test_an_edit_pushes_the_columns_it_left_and_joined_even_onto_another_board(
    two_servers: list[WebProcess], client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """An edit's push carries the column the card left and the one it joined; edited onto
    another pipeline's stage, the new board's column."""
    from app.deals import pipelines
    from tests.deals.helpers import current_of

    watcher = await connect(two_servers[0], session_cookie(client_a))
    s = await stages(tenant_a)
    deal = await make_deal(tenant_a, "Travelling deal")
    await recv_until(watcher, "Travelling deal")

    async def edit(stage: Any, version: int, title: str) -> None:
        form = {"title": title, "amount": "7", "currency": "EUR", "version": str(version)}
        edited = await client_a.post_form(f"/deals/{deal}", {**form, "stage_id": str(stage)})
        assert edited.status_code == 303, edited.text

    await edit(s["Proposal"].id, 1, "Travelling deal, now in Proposal")
    pushed = await recv_until(watcher, "now in Proposal")

    def column(stage: Any, html: str) -> str:
        return html.split(f'id="stage-{stage}"', 1)[1].split("<section", 1)[0]

    assert f'id="deal-{deal}"' in column(s["Proposal"].id, pushed)
    assert f'id="deal-{deal}"' not in column(s["Lead"].id, pushed)  # the column it left
    current = await current_of(tenant_a)
    renewals = await pipelines.create_pipeline(current, "Renewals")
    other = (await pipelines.stages_of(current, renewals))[0]
    await edit(other.id, 2, "Travelling deal, now in Renewals")
    moved = await recv_until(watcher, "now in Renewals")
    assert f'id="deal-{deal}"' in column(other.id, moved)
    await watcher.close()


async def test_presence_viewers_are_the_live_entries_only(app: Any) -> None:
    """`viewers` reads only entries whose heartbeat has not expired (one read, no pruning):
    a socket of a process that died is gone from the list as soon as its entry expires."""
    import json
    import time
    import uuid

    from app.core.redis import redis
    from app.realtime import presence

    tenant, place = uuid.uuid4(), f"board:{uuid.uuid4()}"
    key = f"presence:{tenant}:{place}"

    def member(name: str) -> str:
        return json.dumps({"c": uuid.uuid4().hex, "u": str(uuid.uuid4()), "n": name})

    now = time.time()
    await redis().zadd(key, {member("Gone"): now - 1, member("Here"): now + 30})
    await redis().expire(key, 60)
    try:
        assert [p["name"] for p in await presence.viewers(tenant, place)] == ["Here"]
    finally:
        await redis().delete(key)
