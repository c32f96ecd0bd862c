"""The contact list's rows are kept rendered per their values (crm/contacts/_row.html through
`fragments`), their email address decrypted only when a row is new: after every kind of change
the list shows the change (never a kept row of before), another workspace's contacts never
show, and a search still lists every match, in order, over its pages."""

from __future__ import annotations

import re
from typing import Any

from app.core.db import tenant_transaction
from app.crm import contacts
from app.crm.filters import ContactView
from app.crm.secure import Sealed
from tests.crm.test_custom_fields import add_field
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import current_of
from tests.helpers import Account, version_on


def row_of(html: str, contact: str) -> str:
    """The list row (<tr>…</tr>) of `contact` in a list page, or "" when it is not there."""
    match = re.search(rf'<tr><td class="bulk-check">[^\n]*value="{contact}".*?</tr>', html, re.S)
    return match.group(0) if match else ""


async def test_list_rows_show_every_change(client_a: Any, client_b: Any, tenant_a: Account) -> None:
    company = await make_company(client_a, "Keptco Old")
    contact = await make_contact(
        client_a,
        "Kira",
        "Keptrow",
        emails="kira.old@keptco.example, second@keptco.example",
        title="Buyer",
        company_id=company,
        tags="lead",
    )
    # the same names in the other workspace: its row is never shown in A's list
    theirs = await make_contact(client_b, "Kira", "Keptrow", emails="kira.old@keptco.example")

    row = row_of((await client_a.get("/contacts")).text, contact)
    assert "kira.old@keptco.example" in row and "second@" not in row  # the first address only
    assert "Keptco Old" in row and "Buyer" in row and ">lead<" in row
    assert "enc2:" not in (await client_a.get("/contacts")).text  # decrypted, never sealed
    assert not row_of((await client_a.get("/contacts")).text, theirs)
    assert row_of((await client_b.get("/contacts")).text, theirs)

    # an edit: name, title, email address, tags
    edited = await client_a.post_form(
        f"/contacts/{contact}/edit",
        {
            "first_name": "Kim",
            "last_name": "Keptrow",
            "emails": "kim.new@keptco.example",
            "title": "Head of Buying",
            "company_id": company,
            "tags": "customer",
            "version": await version_on(client_a, f"/contacts/{contact}/edit"),
        },
    )
    assert edited.status_code == 303
    row = row_of((await client_a.get("/contacts")).text, contact)
    assert "Kim Keptrow" in row and "kim.new@keptco.example" in row
    assert "kira.old@" not in row and "Head of Buying" in row
    assert ">customer<" in row and ">lead<" not in row
    searched = await client_a.get("/contacts", params={"q": "keptrow"})
    assert "kim.new@keptco.example" in row_of(searched.text, contact)

    # its company renamed: the row shows the new name
    renamed = await client_a.post_form(
        f"/companies/{company}/edit",
        {"name": "Keptco New", "version": await version_on(client_a, f"/companies/{company}/edit")},
    )
    assert renamed.status_code == 303
    row = row_of((await client_a.get("/contacts")).text, contact)
    assert "Keptco New" in row and "Keptco Old" not in row

    # its company deleted: the row shows no company
    deleted = await client_a.post_form(
        f"/companies/{company}/delete",
        {"version": await version_on(client_a, f"/companies/{company}/delete")},
    )
    assert deleted.status_code == 303
    row = row_of((await client_a.get("/contacts")).text, contact)
    assert row and "Keptco" not in row and "/companies/" not in row

    # deleted: gone from the list and its search, the count follows
    listing = (await client_a.get("/contacts")).text
    assert 'id="view-count">1 contact<' in listing
    version = await version_on(client_a, f"/contacts/{contact}/delete")
    assert (
        await client_a.post_form(f"/contacts/{contact}/delete", {"version": version})
    ).status_code == 303
    listing = (await client_a.get("/contacts")).text
    assert not row_of(listing, contact) and 'id="view-count">0 contacts<' in listing
    assert not row_of((await client_a.get("/contacts", params={"q": "keptrow"})).text, contact)
    assert row_of((await client_b.get("/contacts")).text, theirs)  # B's is still there

    # a new contact with the same values as the one deleted: its own row (its own id)
    again = await make_contact(client_a, "Kim", "Keptrow", emails="kim.new@keptco.example")
    assert "kim.new@keptco.example" in row_of((await client_a.get("/contacts")).text, again)

    # the list's rows carry the address sealed until shown
    page = await contacts.list_contacts(await current_of(tenant_a), ContactView())
    (sealed,) = [r["emails"] for r in page.rows if str(r["id"]) == again]
    assert isinstance(sealed[0], Sealed) and str(sealed[0]) == "kim.new@keptco.example"
    assert "kim" not in repr(sealed[0])


async def test_kept_rows_show_custom_column_changes(client_a: Any, tenant_a: Account) -> None:
    await add_field(client_a, tenant_a, "contact", "Level", "text")
    contact = await make_contact(client_a, "Cora", "Columned", **{"custom.level": "Bronze"})
    params = {"cols": "level"}
    assert ">Bronze<" in row_of((await client_a.get("/contacts", params=params)).text, contact)
    edited = await client_a.post_form(
        f"/contacts/{contact}/edit",
        {
            "first_name": "Cora",
            "last_name": "Columned",
            "custom.level": "Gold",
            "version": await version_on(client_a, f"/contacts/{contact}/edit"),
        },
    )
    assert edited.status_code == 303
    row = row_of((await client_a.get("/contacts", params=params)).text, contact)
    assert ">Gold<" in row and "Bronze" not in row
    # without the column, the row has no custom cell
    assert "Gold" not in row_of((await client_a.get("/contacts")).text, contact)


async def test_search_pages_list_every_match_in_order(tenant_a: Account, tenant_b: Account) -> None:
    """A search's rows are picked by key first, then read whole: 120 matches (and others, and
    the other workspace's) over three pages, in name order, none twice, the count on each."""
    for account in (tenant_a, tenant_b):
        async with tenant_transaction(account.tenant_id) as conn:
            await conn.execute(
                "insert into contacts (id, tenant_id, first_name, last_name, title)"
                " select gen_random_uuid(), $1, 'Pg' || lpad(g::text, 3, '0'),"
                " case when g % 3 = 0 then 'Zweitname' else 'Paginata' end, 'T' || g"
                " from generate_series(1, 180) g",
                account.tenant_id,
            )
    current = await current_of(tenant_a)
    shown: list[str] = []
    after = ""
    counts = []
    while True:
        page = await contacts.list_contacts(current, ContactView(q="paginat", after=after))
        counts.append(page.extra["count"])
        shown += [str(r["first_name"]) for r in page.rows]
        assert all(r["last_name"] == "Paginata" and r["title"] for r in page.rows)
        if not page.next_cursor:
            break
        after = page.next_cursor
    expected = sorted(f"Pg{g:03d}" for g in range(1, 181) if g % 3)
    assert shown == expected and counts == [120, 120, 120]
