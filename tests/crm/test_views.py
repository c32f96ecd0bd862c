"""List views: filters (field, operator, value) on contacts, companies and deals across two
workspaces, sort by any column, the deals table's totals per currency, saved views (private
or shared, who may change them), hostile filter values, and htmx history restore."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from app.core.db import tenant_transaction
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import add_colleague, make_deal, stages
from tests.helpers import Account, browser_client

CONTACT_NAME = re.compile(r"(Vw\w+) (Person)")


def names(html: str) -> list[str]:
    return [m.group(1) for m in CONTACT_NAME.finditer(html)]


def count_of(html: str) -> int:
    match = re.search(r'id="view-count">([\d,]+) ', html)
    assert match, html[:2000]
    return int(match.group(1).replace(",", ""))


async def _contacts(client: Any, owner: Account, tags: dict[str, str]) -> None:
    for first, tag in tags.items():
        await make_contact(client, first, "Person", tags=tag, owner_id=str(owner.user_id))


async def test_contact_filters_count_only_the_own_workspace(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await _contacts(client_a, tenant_a, {"VwAda": "vip, eu", "VwBob": "eu", "VwCy": ""})
    await make_contact(client_a, "VwDot", "Person", owner_id="")
    # the other workspace has rows every filter would match
    await _contacts(client_b, tenant_b, {"VwXan": "vip", "VwYul": "eu", "VwZed": ""})
    await make_contact(client_b, "VwZoe", "Person", owner_id="")

    async def shown(**params: str) -> list[str]:
        response = await client_a.get("/contacts", params={"q": "Vw", **params})
        assert response.status_code == 200, response.text[:500]
        assert count_of(response.text) == len(set(names(response.text)))
        return sorted(set(names(response.text)))

    assert await shown() == ["VwAda", "VwBob", "VwCy", "VwDot"]
    assert await shown(tags_op="any", tags="vip") == ["VwAda"]
    assert await shown(tags_op="any", tags="vip, eu") == ["VwAda", "VwBob"]
    assert await shown(tags_op="none", tags="vip") == ["VwBob", "VwCy", "VwDot"]
    owner = str(tenant_a.user_id)
    assert await shown(owner_op="is", owner=owner) == ["VwAda", "VwBob", "VwCy"]
    assert await shown(owner_op="is_not", owner=owner) == ["VwDot"]
    assert await shown(owner_op="empty") == ["VwDot"]
    # the other workspace's owner: nothing of theirs shows, nobody here is owned by them
    assert await shown(owner_op="is", owner=str(tenant_b.user_id)) == []
    today = date.today()
    assert len(await shown(created_after=str(today - timedelta(days=1)))) == 4
    assert await shown(created_before=str(today - timedelta(days=1))) == []
    between = {"updated_after": str(today), "updated_before": str(today)}
    assert len(await shown(**between)) == 4
    # sort by any shown column, both ways
    asc = await client_a.get("/contacts", params={"q": "Vw", "sort": "name", "dir": "asc"})
    desc = await client_a.get("/contacts", params={"q": "Vw", "sort": "name", "dir": "desc"})
    assert names(asc.text) == list(reversed(names(desc.text)))
    for column in ("title", "company", "owner", "created", "updated"):
        for direction in ("asc", "desc"):
            response = await client_a.get("/contacts", params={"sort": column, "dir": direction})
            assert response.status_code == 200, (column, direction)


async def test_company_filters_and_keyset_pages_keep_the_view(
    client_a: Any, client_b: Any, tenant_a: Account
) -> None:
    for n in range(5):
        await make_company(client_a, f"VwCo{n}", owner_id=str(tenant_a.user_id))
    await make_company(client_a, "VwCoNobody", owner_id="")
    await make_company(client_b, "VwCoOther")
    response = await client_a.get("/companies", params={"q": "VwCo", "owner_op": "empty"})
    assert "VwCoNobody" in response.text and "VwCo0" not in response.text
    assert "VwCoOther" not in response.text and count_of(response.text) == 1
    # a filtered view's pages carry the filters
    from app.accounts.services import load_current
    from app.crm.companies import list_companies
    from app.crm.filters import CompanyView, parse_view, view_url

    current = await load_current(tenant_a.user_id, tenant_a.tenant_id)
    assert current is not None
    view = parse_view(CompanyView, {"q": "VwCo", "owner_op": "is", "owner": str(current.user_id)})
    first = await list_companies(current, view, limit=2)
    assert first.extra["count"] == 5 and first.next_cursor
    url = view_url("/companies", view, after=first.next_cursor)
    assert "owner_op=is" in url and "q=VwCo" in url
    seen = [r["name"] for r in first.rows]
    while first.next_cursor:
        view = parse_view(
            CompanyView,
            {
                "q": "VwCo",
                "owner_op": "is",
                "owner": str(current.user_id),
                "after": first.next_cursor,
            },
        )
        first = await list_companies(current, view, limit=2)
        seen += [r["name"] for r in first.rows]
    assert seen == [f"VwCo{n}" for n in range(5)]


async def test_deal_table_totals_per_currency_for_the_whole_view(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    for n in range(3):
        await make_deal(tenant_a, f"VwEur{n}", amount="100.50", currency="EUR")
    await make_deal(tenant_a, "VwUsd", "Won", amount="2000", currency="USD")
    await make_deal(tenant_b, "VwForeign", amount="999", currency="EUR")
    response = await client_a.get("/deals/list", params={"q": "Vw"})
    assert response.status_code == 200, response.text[:500]
    totals = dict(re.findall(r'data-currency="(\w+)"><strong>([^<]+)</strong>', response.text))
    assert set(totals) == {"EUR", "USD"} and "301.50" in totals["EUR"]
    assert "VwForeign" not in response.text and count_of(response.text) == 4
    # the totals count every deal of the view, not only the page
    from app.crm.filters import DealView, parse_view
    from app.deals.pipelines import deal_table
    from tests.deals.helpers import current_of

    current = await current_of(tenant_a)
    shown = await deal_table(current, parse_view(DealView, {"q": "VwEur"}), limit=1)
    assert len(shown.table.rows) == 1 and shown.table.count == 3
    assert [(t.currency, str(t.amount)) for t in shown.table.totals] == [("EUR", "301.50")]
    # stage and amount filters
    won = (await stages(tenant_a))["Won"].id
    response = await client_a.get("/deals/list", params={"q": "Vw", "stage": str(won)})
    assert "VwUsd" in response.text and "VwEur0" not in response.text
    response = await client_a.get("/deals/list", params={"q": "Vw", "amount_min": "1000"})
    assert "VwUsd" in response.text and count_of(response.text) == 1
    response = await client_a.get("/deals/list", params={"q": "Vw", "amount_max": "100.50"})
    assert count_of(response.text) == 3
    for column in ("title", "amount", "stage", "owner", "company", "close", "created"):
        for direction in ("asc", "desc"):
            r = await client_a.get("/deals/list", params={"sort": column, "dir": direction})
            assert r.status_code == 200, (column, direction)
    # another workspace's stage matches nothing here; owner and date filters on deals
    b_won = (await stages(tenant_b))["Won"].id
    r = await client_a.get("/deals/list", params={"q": "Vw", "stage": str(b_won)})
    assert r.status_code == 200 and count_of(r.text) == 0
    await make_deal(tenant_a, "VwOwned", owner_id=tenant_a.user_id)  # the others: no owner
    owner = str(tenant_a.user_id)
    r = await client_a.get("/deals/list", params={"q": "Vw", "owner_op": "is", "owner": owner})
    assert count_of(r.text) == 1 and "VwOwned" in r.text
    r = await client_a.get("/deals/list", params={"q": "Vw", "owner_op": "is_not", "owner": owner})
    assert count_of(r.text) == 4 and "VwOwned" not in r.text
    r = await client_a.get("/deals/list", params={"q": "Vw", "owner_op": "empty"})
    assert count_of(r.text) == 4
    r = await client_a.get("/deals/list", params={"q": "Vw", "created_after": "2200-01-01"})
    assert count_of(r.text) == 0 and "No deals match this view" in r.text
    # another workspace's pipeline: not there
    b_pipeline = (await stages(tenant_b))["Won"].pipeline_id
    r = await client_a.get("/deals/list", params={"pipeline": str(b_pipeline)})
    assert r.status_code == 404


async def test_hostile_filter_values_are_422_never_500(client_a: Any) -> None:
    for base in ("/contacts", "/companies", "/deals/list"):
        for params in (
            {"q": "a\x00b"},
            {"q": "x" * 60_000},  # httpx sends no longer URL; 100k goes in a form below
            {"tags": "\x00"},
            {"owner": "not-an-id", "owner_op": "is"},
            {"owner_op": "contains"},
            {"tags_op": "all"},
            {"nosuchfield": "1"},
            {"created_after": "2026-13-45"},
            {"created_after": "2026-02-02", "created_before": "2026-01-01"},
            {"amount_min": "1e309"},
            {"stage": "\x00"},
        ):
            response = await client_a.get(base, params=params)
            assert response.status_code == 422, (base, params, response.status_code)
    r = await client_a.get("/contacts", params={"nosuchfield": "1"})
    assert "There is no filter" in r.text
    for form in (
        {"kind": "contacts", "name": "x", "query": "q=" + "x" * 100_000},
        {"kind": "contacts", "name": "x" * 100_000},
        {"kind": "nosuchlist", "name": "x"},
        {"kind": "deals", "name": "x", "query": "stage=%00"},
    ):
        r = await client_a.post_form("/views", form)
        assert r.status_code == 422, (form.get("kind"), r.status_code)


async def test_history_restore_gets_the_whole_page(client_a: Any) -> None:
    await make_contact(client_a, "VwHist", "Person", tags="vip")
    url = "/contacts?q=VwHist&tags_op=any&tags=vip"
    fragment = await client_a.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="results"' in fragment.text and "VwHist" in fragment.text
    restore = await client_a.get(
        url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text and 'id="list-filters"' in restore.text
    assert "VwHist" in restore.text and 'value="vip"' in restore.text
    table = await client_a.get(
        "/deals/list?q=x", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in table.text


async def test_saved_views_private_shared_and_roles(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, mailbox: Any
) -> None:
    member = await add_colleague(tenant_a, mailbox, "member")
    admin = await add_colleague(tenant_a, mailbox, "admin")
    mine = await client_a.post_form(
        "/views", {"kind": "contacts", "name": "VIPs", "query": "tags_op=any&tags=vip"}
    )
    assert mine.status_code in (200, 303), mine.text[:500]
    assert "tags_op=any" in mine.headers["location"] and "view=" in mine.headers["location"]
    shared = await client_a.post_form(
        "/views",
        {"kind": "contacts", "name": "Team EU", "query": "tags_op=any&tags=eu", "shared": "on"},
    )
    assert shared.status_code in (200, 303)
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id) as conn:
        ids = {
            r["name"]: r["id"]
            for r in await conn.fetch(
                "select id, name from saved_views where tenant_id = $1", tenant_a.tenant_id
            )
        }
    page = await client_a.get("/contacts")
    assert "VIPs" in page.text and "Team EU" in page.text
    # a bad view is refused, not saved
    bad = await client_a.post_form("/views", {"kind": "contacts", "name": "x", "query": "bogus=1"})
    assert bad.status_code == 422
    bad = await client_a.post_form("/views", {"kind": "contacts", "name": "\x00", "query": ""})
    assert bad.status_code == 422

    async with browser_client(app) as other:
        await other.login(member.email, member.password)
        listing = await other.get("/contacts")
        assert "Team EU" in listing.text and "VIPs" not in listing.text
        # a member can't change another's views: private is not there, shared is refused
        r = await other.post_form(f"/views/{ids['VIPs']}/rename", {"name": "Mine now"})
        assert r.status_code == 404
        r = await other.post_form(f"/views/{ids['Team EU']}/delete", {})
        assert r.status_code == 422
    # the other workspace sees neither and can touch neither
    assert "Team EU" not in (await client_b.get("/contacts")).text
    r = await client_b.post_form(f"/views/{ids['Team EU']}/delete", {})
    assert r.status_code == 404
    async with browser_client(app) as boss:
        await boss.login(admin.email, admin.password)
        r = await boss.post_form(f"/views/{ids['Team EU']}/rename", {"name": "Europe"})
        assert r.status_code in (200, 303)
        r = await boss.post_form(f"/views/{ids['VIPs']}/delete", {})
        assert r.status_code == 404  # admins change shared views, not private ones
        r = await boss.post_form(f"/views/{ids['Team EU']}/delete", {})
        assert r.status_code in (200, 303)
    # the author renames and deletes their own
    r = await client_a.post_form(f"/views/{ids['VIPs']}/rename", {"name": "Top people"})
    assert r.status_code in (200, 303)
    assert "Top people" in (await client_a.get("/contacts")).text
    r = await client_a.post_form(f"/views/{ids['VIPs']}/delete", {})
    assert r.status_code in (200, 303)
    assert "Top people" not in (await client_a.get("/contacts")).text
    # saved views of the deals table
    r = await client_a.post_form(
        "/views", {"kind": "deals", "name": "Big", "query": "amount_min=1000"}
    )
    assert r.headers["location"].startswith("/deals/list?amount_min=1000")
    assert "Big" in (await client_a.get("/deals/list")).text
