"""A deals CSV import reaches the workspace's open boards once per batch (not once per row;
the columns, or a "read the board again" signal once they are long), and never another
workspace's: the import runs in this process, the sockets listen on a web
process of their own."""

from __future__ import annotations

import html
from typing import Any

from app.deals.live import BOARD_RESYNC
from tests.crm.test_import import import_id_of, upload
from tests.deals.helpers import make_deal, stages
from tests.deals.test_import import GUESSED, deals_csv
from tests.helpers import Account, run_jobs, set_plan
from tests.realtime.servers import WebProcess, connect, session_cookie
from tests.realtime.test_live import recv


async def test_imported_deals_are_pushed_per_batch_to_the_own_workspace_only(
    two_servers: list[WebProcess],
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
) -> None:
    await set_plan(tenant_a, "pro")
    rows = [[f"Live {i}", "1", "", "", "Lead" if i % 2 else "Qualified"] for i in range(1, 1101)]
    import_id = import_id_of(await upload(client_a, deals_csv(rows), kind="deals"))
    watcher_a = await connect(two_servers[1], session_cookie(client_a))
    watcher_b = await connect(two_servers[1], session_cookie(client_b))
    assert (await client_a.post_form(f"/imports/{import_id}/run", GUESSED)).status_code == 303
    await run_jobs()  # two batches: 1,000 rows, then 100

    pushes: list[str] = []
    while len(pushes) < 2:
        message = await recv(watcher_a)
        if "presence" in message and "hx-swap-oob" not in message:
            continue
        pushes.append(message)
    # one push per batch: the first batch's columns (1,000 cards), then, the columns being
    # longer than LIVE_CARDS, the signal that makes open boards read themselves again
    assert 'class="board-column' in pushes[0] and "Live 999" in pushes[0]
    assert "Live 1000" in pushes[0] and "Live 1001" not in pushes[0]
    assert pushes[1] == BOARD_RESYNC
    pipeline = (await stages(tenant_a))["Lead"].pipeline_id
    resync = await client_a.get(f"/deals/board/{pipeline}/columns")  # what board.js reads
    assert "Live 1100" in resync.text and "Live 1" in resync.text
    done = html.unescape((await client_a.get(f"/imports/{import_id}")).text)
    assert "1,100 imported" in done

    # B's socket got nothing of A's: its first board push is its own deal
    await make_deal(tenant_b, "Only for B")
    while True:
        message = await recv(watcher_b)
        assert "Live 1" not in message
        if "Only for B" in message:
            break
    for ws in (watcher_a, watcher_b):
        await ws.close()
