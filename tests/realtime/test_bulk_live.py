"""A bulk change reaches the workspace's open lists live (they re-read their view), and no
other workspace's: the change is made in one process, the sockets listen on another."""

from __future__ import annotations

from typing import Any

from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import make_deal, stages
from tests.helpers import Account
from tests.realtime.servers import WebProcess, connect, session_cookie
from tests.realtime.test_live import recv_until


async def test_a_bulk_change_is_pushed_to_the_own_workspace_only(
    two_servers: list[WebProcess], client_a: Any, client_b: Any
) -> None:
    contact = await make_contact(client_a, "Live", "Bulk")
    company_b = await make_company(client_b, "Live B")
    watcher_a = await connect(two_servers[1], session_cookie(client_a))
    watcher_b = await connect(two_servers[1], session_cookie(client_b))
    done = await client_a.post_form(
        "/contacts/bulk", {"action": "add_tag", "tag": "live", "ids": contact, "confirmed": "1"}
    )
    assert done.status_code == 303, done.text[:500]
    pushed = await recv_until(watcher_a, "crm-live-")
    assert 'id="crm-live-contacts" hx-swap-oob="true"' in pushed
    done_b = await client_b.post_form(
        "/companies/bulk", {"action": "owner", "owner_id": "", "ids": company_b, "confirmed": "1"}
    )
    assert done_b.status_code == 303, done_b.text[:500]
    # B's first list push is its own (companies), never A's contacts
    assert 'id="crm-live-companies"' in await recv_until(watcher_b, "crm-live-")
    for ws in (watcher_a, watcher_b):
        await ws.close()


async def test_a_bulk_stage_move_reaches_the_colleagues_board_and_deal_list(
    two_servers: list[WebProcess], client_a: Any, tenant_a: Account
) -> None:
    """The touched board columns (with the moved cards) and the deal lists' re-read arrive on
    another process's socket once the bulk change commits."""
    deals = [await make_deal(tenant_a, f"LiveBulk{n}") for n in range(2)]
    won = (await stages(tenant_a))["Won"].id
    watcher = await connect(two_servers[1], session_cookie(client_a))
    done = await client_a.post_form(
        "/deals/bulk",
        {"action": "stage", "stage_id": str(won), "ids": [str(d) for d in deals], "confirmed": "1"},
    )
    assert done.status_code == 303, done.text[:500]
    column = await recv_until(watcher, "LiveBulk")
    assert f"deal-{deals[0]}" in column and f"deal-{deals[1]}" in column
    assert 'id="crm-live-deals"' in await recv_until(watcher, "crm-live-")
    await watcher.close()
