"""Deals: default pipeline, create/edit/delete with clear errors, list, detail; tenants apart."""

from __future__ import annotations

import re
from typing import Any

from tests.deals.helpers import make_deal, stages
from tests.helpers import Account


def _form(stage_id: Any, **values: str) -> dict[str, str]:
    base = {"title": "Rocket fuel", "amount": "12,500.50", "currency": "EUR"}
    base.update(values)
    base["stage_id"] = str(stage_id)
    return base


async def test_every_new_workspace_has_the_default_pipeline(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    for client in (client_a, client_b):
        page = await client.get("/deals/board")
        assert page.status_code == 200
        for name in ("Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"):
            assert f'aria-label="Stage {name}"' in page.text
    ids_a = {s.id for s in (await stages(tenant_a)).values()}
    ids_b = {s.id for s in (await stages(tenant_b)).values()}
    assert ids_a and ids_b and not ids_a & ids_b


async def test_create_deal_shows_on_board_list_and_detail_only_in_its_tenant(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await make_deal(tenant_b, "B's private deal")
    lead = (await stages(tenant_a))["Qualified"]
    created = await client_a.post_form("/deals", _form(lead.id, expected_close_date="2026-12-31"))
    assert created.status_code == 303, created.text[:500]
    detail = await client_a.get(created.headers["location"])
    assert "Rocket fuel" in detail.text and "12,500.50 EUR" in detail.text
    assert "Qualified" in detail.text and "31 Dec 2026" in detail.text
    assert "Created the deal" in detail.text  # the timeline
    board = await client_a.get("/deals/board")
    column = board.text.split(f'id="stage-{lead.id}"')[1].split("</section>")[0]
    assert "Rocket fuel" in column
    assert "B&#39;s private deal" not in board.text and "private deal" not in board.text
    listing = await client_a.get("/deals")
    assert "Rocket fuel" in listing.text and "private deal" not in listing.text
    other = await client_b.get("/deals")
    assert "Rocket fuel" not in other.text and "private deal" in other.text
    deal_path = created.headers["location"]
    assert (await client_b.get(deal_path)).status_code == 404


async def test_bad_input_gets_clear_messages_never_500(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    stage_a = (await stages(tenant_a))["Lead"]
    stage_b = (await stages(tenant_b))["Lead"]
    cases = [
        (_form(stage_a.id, amount="-5"), "can&#39;t be negative"),
        (_form(stage_a.id, amount="1e9"), "up to two decimals"),
        (_form(stage_a.id, amount="10000000000000"), "too large"),
        (_form(stage_a.id, currency="XYZ"), "Choose a currency"),
        (_form(stage_b.id), "Choose a stage from the list"),
        (_form("not-a-uuid"), "Choose a stage from the list"),
        (_form(stage_a.id, title="x" * 5000), "at most 200 characters"),
        (_form(stage_a.id, title="   "), "Give the deal a title"),
        (_form(stage_a.id, expected_close_date="31/12/2026"), "Enter a date like"),
        (_form(stage_a.id, owner_id=str(tenant_b.user_id)), "Choose an owner from your team"),
        (_form((await stages(tenant_a))["Lost"].id), "Say why the deal was lost"),
    ]
    for data, message in cases:
        response = await client_a.post_form("/deals", data, htmx=True)
        assert response.status_code == 422, (data, response.text[:300])
        assert message in response.text, (message, response.text[:2000])
    listing = await client_a.get("/deals")
    assert "Rocket fuel" not in listing.text  # nothing was half-saved


async def test_edit_with_stale_version_is_refused_and_delete_removes(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    other = await make_deal(tenant_b, "Untouchable")
    deal_id = await make_deal(tenant_a, "Original title")
    form = await client_a.get(f"/deals/{deal_id}/edit")
    version = re.search(r'name="version" value="(\d+)"', form.text)
    assert version and version.group(1) == "1"
    lead = (await stages(tenant_a))["Proposal"]
    saved = await client_a.post_form(
        f"/deals/{deal_id}", _form(lead.id, title="New title", version="1")
    )
    assert saved.status_code == 303
    stale = await client_a.post_form(
        f"/deals/{deal_id}", _form(lead.id, title="Lost update", version="1"), htmx=True
    )
    assert stale.status_code == 409 and "saved this deal while you were editing it" in stale.text
    assert "Saved meanwhile as “New title”" in stale.text  # theirs, beside the kept input
    assert 'value="Lost update"' in stale.text and 'name="version" value="2"' in stale.text
    page = await client_a.get(f"/deals/{deal_id}")
    assert "New title" in page.text and "Lost update" not in page.text
    assert (await client_a.post_form(f"/deals/{other}/delete", {"version": "1"})).status_code == 404
    assert (await client_a.post_form(f"/deals/{other}/delete")).status_code == 404
    stale_delete = await client_a.post_form(f"/deals/{deal_id}/delete", {"version": "1"})
    assert stale_delete.status_code == 409 and "after you opened this page" in stale_delete.text
    assert (await client_a.get(f"/deals/{deal_id}")).status_code == 200  # asked again, kept
    gone = await client_a.post_form(f"/deals/{deal_id}/delete", {"version": "2"})
    assert gone.status_code == 303
    assert (await client_a.get(f"/deals/{deal_id}")).status_code == 404
    assert "Untouchable" in (await _b_titles(tenant_b))


async def _b_titles(tenant_b: Account) -> str:
    from app.deals.reading import list_deals
    from tests.deals.helpers import current_of

    page = await list_deals(await current_of(tenant_b))
    return " ".join(d.title for d in page.deals)


async def test_list_search_sort_and_keyset_pages(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await make_deal(tenant_b, "Alpha from B")
    for index in range(55):
        await make_deal(tenant_a, f"Alpha {index:02d}", amount=str(index * 100))
    await make_deal(tenant_a, "Zulu big", amount="999999")
    first = await client_a.get("/deals", params={"q": "alpha", "sort": "title"})
    titles = re.findall(r'href="/deals/[0-9a-f-]+">(Alpha \d+)</a>', first.text)
    assert titles == [f"Alpha {i:02d}" for i in range(50)]
    assert "Alpha from B" not in first.text and "Zulu" not in first.text
    cursor = re.search(r'cursor=([A-Za-z0-9_-]+)"', first.text)
    assert cursor
    second = await client_a.get(
        "/deals", params={"q": "alpha", "sort": "title", "cursor": cursor.group(1)}
    )
    rest = re.findall(r'href="/deals/[0-9a-f-]+">(Alpha \d+)</a>', second.text)
    assert rest == [f"Alpha {i:02d}" for i in range(50, 55)]
    by_amount = await client_a.get("/deals", params={"sort": "amount"})
    assert re.findall(r'href="/deals/[0-9a-f-]+">([^<]+)</a>', by_amount.text)[0] == "Zulu big"
    junk = await client_a.get("/deals", params={"cursor": "%%%garbage", "sort": "nope"})
    assert junk.status_code == 200  # a broken cursor shows the first page


async def test_assigning_a_deal_notifies_the_colleague(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    from tests.deals.helpers import add_colleague
    from tests.helpers import browser_client

    colleague = await add_colleague(tenant_a, mailbox)
    await make_deal(tenant_b, "B deal")
    lead = (await stages(tenant_a))["Lead"]
    created = await client_a.post_form(
        "/deals", _form(lead.id, title="Yours now", owner_id=str(colleague.user_id))
    )
    assert created.status_code == 303
    async with browser_client(app) as col:
        await col.login(colleague.email, colleague.password)
        bell = await col.get("/notifications/bell")
        assert ">1<" in bell.text
        feed = await col.get("/notifications")
        assert "assigned you the deal “Yours now”" in feed.text
        note = re.search(r"/notifications/([0-9a-f-]+)/read", feed.text)
        assert note
        opened = await col.post_form(f"/notifications/{note.group(1)}/read")
        assert opened.headers["location"] == created.headers["location"]
        assert ">1<" not in (await col.get("/notifications/bell")).text
    owner_feed = await client_a.get("/notifications")
    assert "Yours now" not in owner_feed.text  # self-assignment and others' news stay quiet


async def test_demo_seed_fills_the_board_of_that_workspace_only(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    from app.deals.seed import DEMO_DEALS, seed_deals

    assert await seed_deals(tenant_a.tenant_id, tenant_a.user_id) == len(DEMO_DEALS)
    board = await client_a.get("/deals/board")
    for title, *_ in DEMO_DEALS:
        assert title in board.text
    assert "Lost: Went with a cheaper supplier" in board.text
    assert "Warehouse robot fleet" not in (await client_b.get("/deals/board")).text


async def test_deal_page_has_notes_tasks_and_timeline(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """Notes and tasks work on a deal like on contacts and companies; B can't reach them."""
    deal_id = await make_deal(tenant_a, "Panel deal")
    await make_deal(tenant_b, "B's own deal")
    deal_url = f"/deals/{deal_id}"
    empty = await client_a.post_form(f"/records/deal/{deal_id}/notes", {"body": "   "})
    assert empty.status_code == 422 and "Panel deal" in empty.text
    added = await client_a.post_form(
        f"/records/deal/{deal_id}/notes", {"body": "Call them on Monday"}
    )
    assert added.status_code == 303
    page = await client_a.get(deal_url)
    assert "Call them on Monday" in page.text and "Timeline" in page.text
    assert (await client_b.get(deal_url)).status_code == 404
    foreign = await client_b.post_form(f"/records/deal/{deal_id}/notes", {"body": "sneaky"})
    assert foreign.status_code == 404
