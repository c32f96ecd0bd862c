"""Global search over HTTP: ranked groups with counts, exact email/phone through the blind
index, email domains through companies, encrypted notes, invoices, the other workspace never."""

from __future__ import annotations

from typing import Any

from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import make_deal
from tests.helpers import Account
from tests.invoices.test_invoices import make_invoice


def hits(html: str) -> list[str]:
    """The result titles in page order."""
    return [
        part.split("</span>")[0].strip()
        for part in html.split('class="search-hit-title fw-semibold">')[1:]
    ]


async def test_search_groups_ranks_and_isolation(
    client_a: Any, client_b: Any, tenant_a: Account
) -> None:
    globex = await make_company(client_a, "Globex Corporation", domain="globex.com")
    await make_company(client_a, "Big Globex Holdings")
    await make_contact(
        client_a,
        "Hank",
        "Scorpio",
        emails="hank@globex.com",
        phones="+1 555 0100",
        company_id=globex,
    )
    await make_contact(client_a, "Globby", "Gloria")
    contact_b = await make_contact(client_b, "Hank", "Hill", emails="hank@strickland.com")
    await client_b.post_form(f"/records/contact/{contact_b}/notes", {"body": "globex secret"})
    await make_deal(tenant_a, "Globex rollout")
    await make_invoice(client_a, globex, ("Anvil", "1", "3", "19"))
    contact = await make_contact(client_a, "Ann", "Other")
    await client_a.post_form(
        f"/records/contact/{contact}/notes", {"body": "Met them at the Globex booth in May"}
    )

    page = await client_a.get("/search", params={"q": "globex"})
    assert page.status_code == 200
    text = page.text
    for group in ("Contacts", "Companies", "Deals", "Notes"):
        assert f"</i> {group}" in text, group
    found = hits(text)
    # the company whose name starts with the query before the one with it inside
    assert found.index("Globex Corporation") < found.index("Big Globex Holdings")
    assert "Globex rollout" in found and "Note on Ann Other" in found
    assert "Globex booth" in text and "globex secret" not in text
    assert "Hank Hill" not in found
    assert "cannot find by a part of a word" in text  # what cannot be searched, said

    # an exact email or phone finds its contact (blind index); a part of one finds the people
    # of the company with that web domain; the other workspace's address finds nothing
    assert "Hank Scorpio" in hits(
        (await client_a.get("/search", params={"q": "HANK@globex.com"})).text
    )
    assert "Hank Scorpio" in hits(
        (await client_a.get("/search", params={"q": "+1 (555) 0100"})).text
    )
    assert "Hank Scorpio" in hits((await client_a.get("/search", params={"q": "@globex.com"})).text)
    other = await client_a.get("/search", params={"q": "hank@strickland.com"})
    assert "Hank Hill" not in hits(other.text) and "Nothing in this workspace" in other.text
    assert "Hank Hill" in hits(
        (await client_b.get("/search", params={"q": "hank@strickland.com"})).text
    )
    # B sees its own note only, none of A's records
    assert hits((await client_b.get("/search", params={"q": "globex"})).text) == [
        "Note on Hank Hill"
    ]

    # invoice numbers as shown, or their digits
    assert "INV-00001" in hits((await client_a.get("/search", params={"q": "inv-00001"})).text)
    assert "INV-00001" in hits((await client_a.get("/search", params={"q": "0001"})).text)

    # htmx gets the results block only; a history restore the whole page
    block = await client_a.get("/search", params={"q": "globex"}, headers={"HX-Request": "true"})
    assert "<html" not in block.text and "Globex Corporation" in block.text
    restore = await client_a.get(
        "/search",
        params={"q": "globex"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.text


async def test_hostile_queries(client_a: Any) -> None:
    assert (await client_a.get("/search", params={"q": "a\x00b"})).status_code == 422
    # (httpx refuses a 100k-character URL itself; 20k is past any limit of ours)
    assert (await client_a.get("/search", params={"q": "x" * 20_000})).status_code == 422
    huge = await client_a.get(
        "/search/pick/contacts", params={"q": "x" * 20_000}, headers={"HX-Request": "true"}
    )
    assert huge.status_code == 422
    for q in ("%", "_", "\\", "'; drop table contacts; --", "a"):
        response = await client_a.get("/search", params={"q": q})
        assert response.status_code == 200, q
    assert "at least 2 characters" in (await client_a.get("/search", params={"q": "a"})).text
    assert (await client_a.get("/search/pick/users", params={"q": "x"})).status_code == 404
    assert (await client_a.get("/search/pick/companies", params={"q": "\x00"})).status_code == 422
