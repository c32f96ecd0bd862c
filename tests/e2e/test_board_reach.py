"""On a 1920 x 1080 screen every stage of a long pipeline is reachable: Won and Lost stay in the
viewport as drop zones at the board's right edge, and a card dropped on Won lands there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.deals import pipelines
from app.deals.reading import get_deal
from tests.deals.helpers import current_of, make_deal, stages
from tests.e2e.conftest import LiveServer
from tests.helpers import Account

SHOTS = Path(__file__).resolve().parents[2] / "test-results"
WAIT_MS = 15000


async def test_won_and_lost_are_in_view_at_1920_and_take_a_drop(
    browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    SHOTS.mkdir(exist_ok=True)
    current = await current_of(tenant_a)
    board = await pipelines.load_board(current)
    for name in ("Discovery", "Demo", "Trial", "Legal review"):  # 8 open stages: too wide
        await pipelines.add_stage(current, board.pipeline.id, name, "open")
    s = await stages(tenant_a)
    deal = await make_deal(tenant_a, "Signed today", amount="4200")
    await make_deal(tenant_b, "Not yours")

    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    page = await context.new_page()
    try:
        await page.goto(f"{live_server.url}/login")
        await page.fill("#f-email", tenant_a.email)
        await page.fill("#f-password", tenant_a.password)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{live_server.url}/app")
        await page.goto(f"{live_server.url}/deals/board")
        await page.wait_for_selector(
            '#live-status[data-live="on"]', state="attached", timeout=WAIT_MS
        )
        await page.screenshot(path=str(SHOTS / "board-1920.png"))
        # the board is wider than the screen (it scrolls), yet Won and Lost are in view
        await page.wait_for_load_state("load")
        sizes = await page.evaluate(
            "() => { const b = document.querySelector('.board .board-open');"
            " return [b.scrollWidth, b.clientWidth]; }"
        )
        assert sizes[0] > sizes[1], ("the pipeline should be wider than the screen", sizes)
        for kind in ("won", "lost"):
            box = await page.locator(f".board-column-{kind}").bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= 1920, (kind, box)
            assert box["y"] + 40 <= 1080, (kind, box)
            assert await page.locator(f".board-column-{kind}").is_visible()

        card = f"#deal-{deal}"
        won = f"#stage-{s['Won'].id} .board-cards"
        await page.locator(card).drag_to(page.locator(won))
        await page.wait_for_selector(f"{won} {card}", timeout=WAIT_MS)
        # the server agrees: the deal is won (the column came back from the move response)
        for _ in range(50):
            detail = await get_deal(current, deal)
            if detail.card.stage_id == s["Won"].id:
                break
            await page.wait_for_timeout(100)
        assert detail.card.stage_id == s["Won"].id and detail.card.stage_kind == "won"
        assert await page.locator(f"#stage-{s['Won'].id} .stage-total").inner_text() != ""
        # the board's line reads again after the move: the deal now counts as won
        await page.wait_for_selector(".board-sum-won >> text=4,200.00 EUR", timeout=WAIT_MS)
        assert await page.locator("text=Not yours").count() == 0
    finally:
        await context.close()
