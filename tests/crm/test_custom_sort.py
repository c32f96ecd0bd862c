"""Lists sorted by a shown custom field's column (`sort=cf.<key>`): typed order, empties last
in both directions, keyset pages through the cursor with no row repeated or skipped, and a
422 with a message for a field not shown, archived, of another kind or another workspace."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.core.errors import FormInvalid
from app.crm.contacts import list_contacts
from app.crm.filters import ContactView, DealView, parse_view
from app.deals.pipelines import deal_table
from tests.crm.test_custom_fields import BASE, add_field
from tests.crm.test_records import make_contact
from tests.deals.helpers import current_of, stages
from tests.helpers import Account

RANKS = {"SrtA": "3", "SrtB": "10", "SrtC": "", "SrtD": "1", "SrtE": "2.5", "SrtF": ""}


async def contact_order(account: Account, **params: str) -> list[str]:
    """The contacts' first names over every page of two rows, following the next cursor."""
    current = await current_of(account)
    names: list[str] = []
    after = ""
    while True:
        view = parse_view(ContactView, {"q": "Srt", "cols": "rank", **params, "after": after})
        page = await list_contacts(current, view, limit=2)
        names += [str(row["first_name"]) for row in page.rows]
        if not page.next_cursor:
            return names
        after = page.next_cursor


async def test_contacts_sort_by_a_number_column_across_pages(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    for client, account in ((client_a, tenant_a), (client_b, tenant_b)):
        await add_field(client, account, "contact", "Rank", "number")
    for first, rank in RANKS.items():
        await make_contact(client_a, first, "Sorted", **{"custom.rank": rank})
        await make_contact(client_b, first.replace("Srt", "SrtX"), "Sorted", **{"custom.rank": "5"})
    up = await contact_order(tenant_a, sort="cf.rank")
    assert up[:4] == ["SrtD", "SrtE", "SrtA", "SrtB"]  # numerically: 10 after 3
    assert sorted(up[4:]) == ["SrtC", "SrtF"]  # the empty ones last
    down = await contact_order(tenant_a, sort="cf.rank", dir="desc")
    assert down[:4] == ["SrtB", "SrtA", "SrtE", "SrtD"]
    assert sorted(down[4:]) == ["SrtC", "SrtF"]  # last again
    # the other workspace: only its own, in its own order
    assert sorted(await contact_order(tenant_b, sort="cf.rank")) == [
        n.replace("Srt", "SrtX") for n in sorted(RANKS)
    ]
    # the page: the header sorts, the next link carries the order, Back comes to page one
    page = await client_a.get("/contacts", params={"q": "Srt", "cols": "rank", "sort": "cf.rank"})
    assert page.status_code == 200, page.text[:800]
    header = re.search(r'data-custom="rank"><a [^>]*href="([^"]+)"', page.text)
    assert header is not None and "dir=desc" in header[1] and "bi-sort-up" in page.text
    current = await current_of(tenant_a)
    view = parse_view(ContactView, {"q": "Srt", "cols": "rank", "sort": "cf.rank"})
    first = await list_contacts(current, view, limit=2)
    second = await list_contacts(
        current, parse_view(ContactView, {**view_dict(view), "after": first.next_cursor}), limit=2
    )
    assert second.prev_cursor
    back = await list_contacts(
        current, parse_view(ContactView, {**view_dict(view), "before": second.prev_cursor}), 2
    )
    assert [r["id"] for r in back.rows] == [r["id"] for r in first.rows]


def view_dict(view: ContactView) -> dict[str, str]:
    return {"q": view.q, "cols": ",".join(view.cols), "sort": view.sort}


async def test_deals_sort_by_a_date_column(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    renewals = {"SrtDeal1": "2027-03-01", "SrtDeal2": "", "SrtDeal3": "2026-12-24",
                "SrtDeal4": "2028-01-15", "SrtDeal5": ""}  # fmt: skip
    for client, account in ((client_a, tenant_a), (client_b, tenant_b)):
        await add_field(client, account, "deal", "Renewal", "date")
        stage = (await stages(account))["Lead"].id
        for title, day in renewals.items():
            made = await client.post_form(
                "/deals",
                {"title": title, "amount": "10", "currency": "EUR", "stage_id": str(stage),
                 "custom.renewal": day},
            )  # fmt: skip
            assert made.status_code == 303, made.text[:500]
    current = await current_of(tenant_a)
    for direction, expected in (
        ("asc", ["SrtDeal3", "SrtDeal1", "SrtDeal4"]),
        ("desc", ["SrtDeal4", "SrtDeal1", "SrtDeal3"]),
    ):
        titles: list[str] = []
        after = ""
        while True:
            params = {"q": "SrtDeal", "cols": "renewal", "sort": "cf.renewal", "dir": direction}
            shown = await deal_table(current, parse_view(DealView, {**params, "after": after}), 2)
            titles += [row.title for row in shown.table.rows]
            if not shown.table.next_cursor:
                break
            after = shown.table.next_cursor
        assert titles[:3] == expected and sorted(titles[3:]) == ["SrtDeal2", "SrtDeal5"]
    page = await client_b.get(
        "/deals/list", params={"q": "SrtDeal", "cols": "renewal", "sort": "cf.renewal"}
    )
    assert page.status_code == 200 and 'data-custom="renewal"><a ' in page.text


async def test_sorting_by_a_field_not_there_or_not_shown_is_refused(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await add_field(client_a, tenant_a, "contact", "Tier", "select", options="A\nB")
    await add_field(client_a, tenant_a, "company", "Sector", "text")
    gone = await add_field(client_a, tenant_a, "contact", "Gone", "text")
    await client_a.post_form(f"{BASE}/{gone['id']}/archive", {"version": str(gone["version"])})
    await add_field(client_b, tenant_b, "contact", "Theirs", "number")
    await make_contact(client_a, "SrtZed", "Refused", **{"custom.tier": "A"})
    for params, message in (
        ({"sort": "\x00"}, ""),
        ({"sort": "x" * 60_000}, ""),  # the client's longest query; 100k below
        ({"sort": "cf.\x00"}, ""),
        ({"sort": "cf.Bad Key", "cols": "tier"}, ""),
        ({"sort": "cf.tier"}, "Show the column"),  # not shown
        ({"sort": "cf.theirs", "cols": "theirs"}, "no custom field"),  # another workspace's
        ({"sort": "cf.sector", "cols": "sector"}, "no custom field"),  # a company field
        ({"sort": "cf.gone", "cols": "gone"}, "no custom field"),  # archived
    ):
        response = await client_a.get("/contacts", params=params)
        assert response.status_code == 422, (params, response.status_code)
        assert message in response.text
    with pytest.raises(FormInvalid):
        parse_view(ContactView, {"sort": "cf." + "x" * 100_000, "cols": "tier"})
    # the same field shown: fine; B's own field in B: fine
    shown = await client_a.get("/contacts", params={"sort": "cf.tier", "cols": "tier"})
    assert shown.status_code == 200 and "SrtZed" in shown.text
    theirs = await client_b.get("/contacts", params={"sort": "cf.theirs", "cols": "theirs"})
    assert theirs.status_code == 200
    sector = await client_a.get("/companies", params={"sort": "cf.sector", "cols": "sector"})
    assert sector.status_code == 200
    deals = await client_a.get("/deals/list", params={"sort": "cf.tier", "cols": "tier"})
    assert deals.status_code == 422


async def test_every_type_sorts_and_pages_by_its_cursor(client_a: Any, tenant_a: Account) -> None:
    from tests.crm.test_custom_fields import every_type

    fields = await every_type(client_a, tenant_a)
    values = [
        {"money": "9.50", "checkbox": "yes", "multi_select": "Post", "text": "beta"},
        {"money": "100", "checkbox": "no", "multi_select": "Email, Post", "text": "Alpha"},
        {"money": "", "checkbox": "", "multi_select": "", "text": ""},
    ]
    for n, row in enumerate(values):
        data = {f"custom.{fields[t]['key']}": v for t, v in row.items()}
        data[f"custom.{fields['money']['key']}.currency"] = "EUR"
        data[f"custom.{fields['user']['key']}"] = tenant_a.email if n == 0 else ""
        data[f"custom.{fields['url']['key']}"] = "https://b.example" if n == 1 else ""
        await make_contact(client_a, f"SrtType{n}", "Typed", **data)
    keys = ",".join(f["key"] for f in fields.values())
    current = await current_of(tenant_a)
    for field_type, field in fields.items():
        for direction in ("asc", "desc"):
            names: list[str] = []
            after = ""
            while True:
                params = {"q": "SrtType", "cols": keys, "sort": f"cf.{field['key']}"}
                view = parse_view(ContactView, {**params, "dir": direction, "after": after})
                page = await list_contacts(current, view, limit=1)
                names += [str(row["first_name"]) for row in page.rows]
                if not page.next_cursor:
                    break
                after = page.next_cursor
            assert sorted(names) == ["SrtType0", "SrtType1", "SrtType2"], (field_type, names)
            if field_type in ("money", "multi_select", "text"):
                # case-blind text; a multi select by its first value ("Email" < "Post")
                expected = ["SrtType0", "SrtType1"] if field_type == "money" else []
                expected = expected or ["SrtType1", "SrtType0"]
                first_two = expected if direction == "asc" else expected[::-1]
                assert names == [*first_two, "SrtType2"], (field_type, direction, names)
            if field_type == "checkbox":  # unticked before ticked (left empty: unticked)
                assert names[-1 if direction == "asc" else 0] == "SrtType0", names
        response = await client_a.get("/contacts", params={**params, "dir": "desc"})
        assert response.status_code == 200, (field_type, response.text[:800])
