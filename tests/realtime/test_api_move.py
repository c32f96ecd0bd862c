"""A deal moved through the REST API reaches every open board live, like a drag does: the
move goes through one web process, the board socket listens on another (Redis pub/sub)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import token_for
from tests.deals.helpers import make_deal, stages
from tests.helpers import Account
from tests.realtime.servers import WebProcess, connect, session_cookie
from tests.realtime.test_live import WAIT, recv, recv_until


async def test_a_move_through_the_api_arrives_on_a_subscribed_board(
    two_servers: list[WebProcess],
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
) -> None:
    one, two = two_servers
    deal, b_deal = await make_deal(tenant_a, "Moved by API"), await make_deal(tenant_b, "B stays")
    watcher, watcher_b = [await connect(two, session_cookie(c)) for c in (client_a, client_b)]
    s = await stages(tenant_a)
    token = await token_for(tenant_a, ["deals:write"])
    async with httpx.AsyncClient(
        base_url=one.url, headers={"Authorization": f"Bearer {token}"}, timeout=WAIT
    ) as api:
        moved = await api.post(
            f"/api/v1/deals/{deal}/move",
            json={"stage_id": str(s["Won"].id), "position": 0, "version": 1},
        )
        assert moved.status_code == 200, moved.text
    pushed = await recv_until(watcher, "Moved by API")
    won = pushed.split(f'id="stage-{s["Won"].id}"')[1].split("</section>")[0]
    assert "Moved by API" in won and 'hx-swap-oob="true"' in pushed
    # B's socket saw nothing of A's move: its next message is its own board's event
    b_token = await token_for(tenant_b, ["deals:write"])
    b_won = (await stages(tenant_b))["Won"].id
    async with httpx.AsyncClient(
        base_url=two.url, headers={"Authorization": f"Bearer {b_token}"}, timeout=WAIT
    ) as api_b:
        await api_b.post(
            f"/api/v1/deals/{b_deal}/move", json={"stage_id": str(b_won), "version": 1}
        )
    first_for_b = await recv(watcher_b)
    assert "B stays" in first_for_b and "Moved by API" not in first_for_b
    for ws in (watcher, watcher_b):
        await ws.close()
