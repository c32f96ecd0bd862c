"""Two colleagues on one board in Chromium: one drags a card, the other sees it move live;
a third person in another workspace sees nothing of it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from app.accounts import team
from tests.deals.helpers import current_of, make_deal, stages
from tests.e2e.conftest import LiveServer, wait_for_mail
from tests.helpers import PASSWORD, Account

SHOTS = Path(__file__).resolve().parents[2] / "test-results"
WAIT_MS = 15000


async def _colleague(owner: Account, mailbox: Any) -> Account:
    """Invite and accept through the services (the live worker mails the link)."""
    email = f"board-mate-{uuid.uuid4().hex[:8]}@example.com"
    await team.invite(await current_of(owner), email, "member")
    token = (await wait_for_mail(mailbox, email, "/invite/accept")).split("token=")[1]
    user_id, tenant_id = await team.accept_invitation(token, None, "Board Mate", PASSWORD)
    return Account(user_id, tenant_id, email, PASSWORD, "Board Mate", owner.company)


async def _open_board(browser: Any, server: LiveServer, account: Account) -> tuple[Any, Any]:
    # wide enough for the whole board: dragging must not scroll it
    context = await browser.new_context(viewport={"width": 2200, "height": 900})
    page = await context.new_page()
    await page.goto(f"{server.url}/login")
    await page.fill("#f-email", account.email)
    await page.fill("#f-password", account.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server.url}/app")
    await page.goto(f"{server.url}/deals/board")
    await page.wait_for_selector('#live-status[data-live="on"]', state="attached", timeout=WAIT_MS)
    return context, page


async def test_two_colleagues_see_each_others_moves_and_another_tenant_sees_nothing(
    app: Any,
    browser: Any,
    live_server: LiveServer,
    tenant_a: Account,
    tenant_b: Account,
    mailbox: Any,
) -> None:
    SHOTS.mkdir(exist_ok=True)
    mate = await _colleague(tenant_a, mailbox)
    s = await stages(tenant_a)
    deal = await make_deal(tenant_a, "Drag me", amount="4200")
    await make_deal(tenant_a, "Stay here")
    await make_deal(tenant_b, "Other workspace deal")

    ctx_a, page_a = await _open_board(browser, live_server, tenant_a)
    ctx_m, page_m = await _open_board(browser, live_server, mate)
    ctx_b, page_b = await _open_board(browser, live_server, tenant_b)
    csp: list[str] = []  # console errors: CSP violations, htmx swaps without a target
    for page in (page_a, page_m, page_b):
        page.on("console", lambda m: csp.append(m.text) if m.type == "error" else None)
    frames_b: list[str] = []
    page_b.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames_b.append(str(p))))
    await page_b.reload()  # attach the frame listener to B's socket from its start
    await page_b.wait_for_selector('#live-status[data-live="on"]', state="attached")

    # presence: each colleague sees the other on the board, B sees neither
    await page_a.wait_for_selector(
        f'.presence-chip[data-user-id="{mate.user_id}"]', timeout=WAIT_MS
    )
    await page_m.wait_for_selector(
        f'.presence-chip[data-user-id="{tenant_a.user_id}"]', timeout=WAIT_MS
    )
    card = f"#deal-{deal}"
    target = f"#stage-{s['Qualified'].id} .board-cards"
    assert await page_m.locator(f"#stage-{s['Lead'].id} {card}").count() == 1
    await page_a.locator(card).drag_to(page_a.locator(target))
    # the colleague's board shows the card in its new stage, without a reload
    await page_m.wait_for_selector(f"{target} {card}", timeout=WAIT_MS)
    assert await page_m.locator(f"#stage-{s['Lead'].id} {card}").count() == 0
    await page_a.wait_for_selector(f"{target} {card}:not(.deal-card-pending)", timeout=WAIT_MS)
    await page_m.screenshot(path=str(SHOTS / "board-live.png"), full_page=True)

    # a stale card (its version is behind the server's) is refused: it goes back to where the
    # server has it and the mover is told why
    await page_m.evaluate(
        "([sel]) => document.querySelector(sel).setAttribute('data-version', '1')", [card]
    )
    proposal = f"#stage-{s['Proposal'].id} .board-cards"
    await page_m.locator(card).drag_to(page_m.locator(proposal))
    toast = page_m.locator("#toasts .toast", has_text="Someone else changed this deal")
    await toast.wait_for(timeout=WAIT_MS)
    await page_m.wait_for_selector(f"{target} {card}", timeout=WAIT_MS)
    assert await page_m.locator(f"{proposal} {card}").count() == 0
    assert await page_a.locator(f"{proposal} {card}").count() == 0

    # dropping on a lost stage asks why; the reason shows on the card for everyone
    lost = f"#stage-{s['Lost'].id} .board-cards"
    await page_a.locator(card).drag_to(page_a.locator(lost))
    await page_a.wait_for_selector("#lost-dialog[open]", timeout=WAIT_MS)
    await page_a.fill("#lost-reason", "Budget frozen")
    await page_a.click("#lost-dialog button[value=ok]")
    await page_m.wait_for_selector(f"{lost} {card} >> text=Lost: Budget frozen", timeout=WAIT_MS)

    # B's board: its own events arrive (a deal created in B shows up) but nothing of A's
    await make_deal(tenant_b, "B live marker")
    await page_b.wait_for_selector("text=B live marker", timeout=WAIT_MS)
    content_b = await page_b.content()
    assert "Drag me" not in content_b and "Board Mate" not in content_b
    assert frames_b and not [f for f in frames_b if str(deal) in f or "Drag me" in f]
    assert not csp, csp
    for ctx in (ctx_a, ctx_m, ctx_b):
        await ctx.close()


async def test_board_catches_up_after_the_web_process_restarts(
    app: Any, browser: Any, live_server: LiveServer, tenant_a: Account, tenant_b: Account
) -> None:
    """The web process is restarted (SIGTERM, its sockets close with 1012) and a deal moves
    while it is down: the push is lost, but the page reconnects by itself and re-reads the
    board, so the card shows where it is without a reload."""
    import asyncio

    from app.deals.moves import move_deal
    from tests.deals.helpers import current_of, version_of

    s = await stages(tenant_a)
    deal = await make_deal(tenant_a, "Moved while down")
    context, page = await _open_board(browser, live_server, tenant_a)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    card, won = f"#deal-{deal}", f"#stage-{s['Won'].id} .board-cards"
    closed: list[Any] = []
    page.on("websocket", lambda ws: ws.on("close", lambda *_: closed.append(ws)))
    await page.reload()  # watch the socket from its start
    await page.wait_for_selector('#live-status[data-live="on"]', state="attached")

    loop = asyncio.get_running_loop()
    owner = await current_of(tenant_a)
    version = await version_of(tenant_a, deal)

    def move_behind_its_back() -> None:  # runs while nothing listens: the push goes nowhere
        asyncio.run_coroutine_threadsafe(move_deal(owner, deal, s["Won"].id, version), loop).result(
            30
        )

    await asyncio.to_thread(live_server.restart_web, move_behind_its_back)
    assert closed, "the restart did not close the page's socket"
    await page.wait_for_selector(f"{won} {card}", timeout=WAIT_MS)  # re-read after reconnect
    assert await page.locator(f"#stage-{s['Lead'].id} {card}").count() == 0
    assert not [c for c in console if "Content Security Policy" in c], console
    await context.close()


async def test_keyboard_move_is_announced_and_seen_live_by_a_colleague(
    app: Any,
    browser: Any,
    live_server: LiveServer,
    tenant_a: Account,
    tenant_b: Account,
    mailbox: Any,
) -> None:
    """No mouse: Tab to a card, Space picks it up, arrows move it, Space drops it; the move
    is the same request as a drag, so a colleague's board shows it live. Escape cancels."""
    mate = await _colleague(tenant_a, mailbox)
    s = await stages(tenant_a)
    first = await make_deal(tenant_a, "Keyed first", stage="Qualified")
    mover = await make_deal(tenant_a, "Keyed mover")
    ctx_a, page_a = await _open_board(browser, live_server, tenant_a)
    ctx_m, page_m = await _open_board(browser, live_server, mate)
    card = f"#deal-{mover}"
    qualified = f"#stage-{s['Qualified'].id} .board-cards"

    await page_a.focus(card)
    await page_a.keyboard.press("Space")
    await page_a.wait_for_selector(f"{card}.deal-card-lifted")
    await page_a.keyboard.press("ArrowRight")  # Lead -> Qualified, at the same position
    await page_a.wait_for_function(
        "t => document.querySelector('#board-announce').textContent.includes(t)",
        arg="Stage Qualified, position 1 of 2",
    )
    await page_a.keyboard.press("Escape")  # changed my mind: back to Lead, nothing sent
    assert await page_a.locator(f"#stage-{s['Lead'].id} {card}").count() == 1
    await page_a.wait_for_function(
        "() => document.querySelector('#board-announce').textContent.includes('cancelled')"
    )

    await page_a.focus(card)
    await page_a.keyboard.press("Space")
    await page_a.keyboard.press("ArrowRight")
    await page_a.keyboard.press("ArrowDown")  # below "Keyed first"
    await page_a.keyboard.press("Space")
    # the colleague's board shows it live, in the stage and the place it was dropped
    await page_m.wait_for_selector(f"{qualified} {card}", timeout=WAIT_MS)
    order = await page_m.eval_on_selector_all(
        f"{qualified} .deal-card", "els => els.map(e => e.dataset.dealId)"
    )
    assert order.index(str(first)) < order.index(str(mover)), order
    # the mover's focus stays on the card after the board is redrawn, and it is told so
    await page_a.wait_for_function(
        "id => document.activeElement && document.activeElement.id === 'deal-' + id",
        arg=str(mover),
        timeout=WAIT_MS,
    )
    await page_a.wait_for_function(
        "() => document.querySelector('#board-announce').textContent.includes('moved')",
        timeout=WAIT_MS,
    )
    for ctx in (ctx_a, ctx_m):
        await ctx.close()
