"""Companies and contacts over HTTP: create, list, search, sort, pages, edit, delete, isolation."""

from __future__ import annotations

import re
import uuid
from typing import Any

from app.core.db import tenant_transaction
from tests.helpers import Account, version_on

ID_RE = r"/{kind}/([0-9a-f-]{{36}})"


def created_id(response: Any, kind: str) -> str:
    assert response.status_code in (200, 303), response.text[:800]
    location = response.headers.get("location") or response.headers.get("hx-redirect", "")
    match = re.search(ID_RE.format(kind=kind), location)
    assert match, location
    return match.group(1)


async def make_company(client: Any, name: str, **extra: str) -> str:
    response = await client.post_form("/companies/new", {"name": name, **extra})
    return created_id(response, "companies")


async def make_contact(client: Any, first: str, last: str, **extra: str) -> str:
    response = await client.post_form(
        "/contacts/new", {"first_name": first, "last_name": last, **extra}
    )
    return created_id(response, "contacts")


async def test_company_and_contact_lifecycle(client_a: Any, client_b: Any) -> None:
    company = await make_company(client_a, "Globex Corporation", domain="https://www.globex.com/")
    contact = await make_contact(
        client_a,
        "Hank",
        "Scorpio",
        emails="hank@globex.com, h.scorpio@globex.com",
        phones="+1 555 0100",
        title="CEO",
        company_id=company,
        tags="vip, volcano",
    )
    other = await make_contact(client_b, "Bart", "Simpson", emails="bart@springfield.org")

    listing = await client_a.get("/contacts")
    assert (
        "Hank" in listing.text
        and "Scorpio" in listing.text
        and "Globex Corporation" in listing.text
    )
    assert "Bart" not in listing.text

    # emails are encrypted: an exact address (any case) finds the contact by its blind index
    found = await client_a.get("/contacts", params={"q": "H.Scorpio@Globex.com"})
    assert "Scorpio" in found.text
    partial = await client_a.get("/contacts", params={"q": "h.scorpio@globex"})
    assert "No contacts match" in partial.text
    live = await client_a.get("/contacts", params={"q": "scorp"}, headers={"HX-Request": "true"})
    assert live.text.lstrip().startswith('<div id="results">') and "Hank" in live.text
    by_company = await client_a.get("/companies", params={"q": "globex.com"})
    assert f"/companies/{company}" in by_company.text
    missing = await client_a.get("/contacts", params={"q": "bart"})
    assert "No contacts match" in missing.text and "Simpson" not in missing.text

    page = await client_a.get(f"/companies/{company}")
    assert page.status_code == 200
    assert "globex.com" in page.text  # domain cleaned from the URL
    assert f"/contacts/{contact}" in page.text and "Hank Scorpio" in page.text
    # its contacts with their first address (company_contacts: the others are not read)
    assert "hank@globex.com" in page.text and "h.scorpio@globex.com" not in page.text
    assert "created the company Globex Corporation" in page.text

    edited = await client_a.post_form(
        f"/contacts/{contact}/edit",
        {
            "first_name": "Hank",
            "last_name": "Scorpio",
            "title": "Chief Villain",
            "company_id": company,
            "version": await version_on(client_a, f"/contacts/{contact}/edit"),
        },
    )
    assert edited.status_code == 303
    detail = await client_a.get(f"/contacts/{contact}")
    assert "Chief Villain" in detail.text
    assert "changed" in detail.text and "CEO" in detail.text  # the timeline shows the diff
    assert "mailto:hank@globex.com" not in detail.text  # emails were cleared by the edit
    assert "2 email addresses → —" in detail.text  # counts only: the timeline isn't encrypted
    assert "hank@globex.com" not in detail.text

    # tenant B can't see, edit or delete A's records (404), nor A B's
    for path in (f"/contacts/{contact}", f"/companies/{company}", f"/contacts/{contact}/edit"):
        assert (await client_b.get(path)).status_code == 404
    assert (await client_b.post_form(f"/contacts/{contact}/delete")).status_code == 404
    assert (
        await client_b.post_form(f"/companies/{company}/edit", {"name": "Pwned"})
    ).status_code == 404
    assert (await client_a.get(f"/contacts/{other}")).status_code == 404

    confirm = await client_a.get(f"/contacts/{contact}/delete")
    assert "Yes, delete Hank Scorpio" in confirm.text
    version = await version_on(client_a, f"/contacts/{contact}/delete")
    deleted = await client_a.post_form(f"/contacts/{contact}/delete", {"version": version})
    assert deleted.status_code == 303
    assert (await client_a.get(f"/contacts/{contact}")).status_code == 404
    after_delete = (await client_a.get("/contacts")).text
    assert "Deleted Hank Scorpio." in after_delete and f"/contacts/{contact}" not in after_delete
    assert (await client_b.get(f"/contacts/{other}")).status_code == 200

    version = await version_on(client_a, f"/companies/{company}/delete")
    deleted = await client_a.post_form(f"/companies/{company}/delete", {"version": version})
    assert deleted.status_code == 303
    assert f"/companies/{company}" not in (await client_a.get("/companies")).text


async def test_bad_input_gives_inline_errors(client_a: Any, client_b: Any) -> None:
    foreign_company = await make_company(client_b, "Initech")
    cases = [
        ({"first_name": "", "last_name": ""}, "Enter a first or last name."),
        ({"first_name": "A", "emails": "not-an-email"}, "is not a valid email address"),
        ({"first_name": "x" * 5000}, "at most 100 characters"),
        ({"first_name": "A", "phones": "call me maybe"}, "is not a phone number"),
        (
            {"first_name": "A", "company_id": str(uuid.uuid4())},
            "Choose a company from your workspace.",
        ),
        (
            {"first_name": "A", "company_id": foreign_company},
            "Choose a company from your workspace.",
        ),
        ({"first_name": "A", "company_id": "1; drop table contacts"}, "Choose a company"),
        (
            {"first_name": "A", "owner_id": str(uuid.uuid4())},
            "Choose an owner from your workspace.",
        ),
        ({"first_name": "A", "tags": ",".join(f"t{i}" for i in range(30))}, "at most 20 tags"),
    ]
    for data, message in cases:
        response = await client_a.post_form("/contacts/new", data, htmx=True)
        assert response.status_code == 422, (data, response.status_code)
        assert message in response.text.replace("&#34;", '"'), (data, response.text[:2000])
        assert "invalid-feedback" in response.text
    company_cases = [
        ({"name": ""}, "Enter the company name."),
        ({"name": "A", "domain": "not a domain"}, "Enter a domain like example.com."),
        ({"name": "A", "address": "y" * 2000}, "at most 1000 characters"),
    ]
    for data, message in company_cases:
        response = await client_a.post_form("/companies/new", data)
        assert response.status_code == 422 and message in response.text, (data, response.text[:500])
    assert "No contacts yet" in (await client_a.get("/contacts")).text
    huge = await client_a.post_form("/contacts/new", {"first_name": "z" * (3 * 1024 * 1024)})
    assert huge.status_code == 413
    assert (await client_a.get("/contacts/not-a-uuid")).status_code == 404


async def _seed_contacts(account: Account, count: int, prefix: str) -> None:
    async with tenant_transaction(account.tenant_id) as conn:
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, search_text)"
            " select gen_random_uuid(), $1, 'P' || i, $2 || lpad(i::text, 4, '0'),"
            " lower($2 || lpad(i::text, 4, '0')) from generate_series(1, $3) as i",
            account.tenant_id,
            prefix,
            count,
        )


async def test_keyset_pages_walk_forward_and_back(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await _seed_contacts(tenant_a, 120, "Alpha")
    await _seed_contacts(tenant_b, 30, "Bravo")
    seen: list[str] = []
    url = "/contacts"
    pages = []
    while url:
        response = await client_a.get(url)
        assert response.status_code == 200
        names = re.findall(r"P\d+ (Alpha\d{4})", response.text)
        assert "Bravo" not in response.text
        seen += names
        pages.append(url)
        match = re.search(r'href="(/contacts\?[^"]*after=[^"]+)"', response.text)
        url = match.group(1).replace("&amp;", "&") if match else ""
    assert seen == sorted(seen) and len(seen) == 120 and len(set(seen)) == 120
    assert len(pages) == 3
    last = await client_a.get(pages[-1])
    prev = re.search(r'href="(/contacts\?[^"]*before=[^"]+)"', last.text)
    assert prev
    back = await client_a.get(prev.group(1).replace("&amp;", "&"))
    assert re.findall(r"P\d+ (Alpha\d{4})", back.text) == seen[50:100]
    newest = await client_a.get("/contacts", params={"sort": "newest"})
    assert newest.status_code == 200 and len(re.findall(r"Alpha\d{4}", newest.text)) == 50
    bad_cursor = await client_a.get("/contacts", params={"after": "!!garbage"})
    assert bad_cursor.status_code == 200 and "Alpha0001" in bad_cursor.text


async def _deal_for(account: Account, company: str, title: str) -> uuid.UUID:
    """A deal straight in the deals tables (the deals app owns the screens to make one)."""
    pipeline, stage, deal = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with tenant_transaction(account.tenant_id) as conn:
        await conn.execute(
            "insert into pipelines (id, tenant_id, name) values ($1, $2, 'Sales')",
            pipeline,
            account.tenant_id,
        )
        await conn.execute(
            "insert into stages (id, tenant_id, pipeline_id, name) values ($1, $2, $3, 'Proposal')",
            stage,
            account.tenant_id,
            pipeline,
        )
        await conn.execute(
            "insert into deals (id, tenant_id, title, amount, currency, pipeline_id, stage_id,"
            " company_id) values ($1, $2, $3, 1234.50, 'EUR', $4, $5, $6)",
            deal,
            account.tenant_id,
            title,
            pipeline,
            stage,
            uuid.UUID(company),
        )
    return deal


async def test_company_page_shows_deals_and_deal_notes(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    company = await make_company(client_a, "Soylent Corp")
    b_company = await make_company(client_b, "Umbrella Corp")
    deal = await _deal_for(tenant_a, company, "Green biscuits supply")
    await _deal_for(tenant_b, b_company, "T-virus antidote")
    page = await client_a.get(f"/companies/{company}")
    assert "Green biscuits supply" in page.text and "Proposal" in page.text
    assert "1,234.50 EUR" in page.text and "T-virus" not in page.text
    note = await client_a.post_form(f"/records/deal/{deal}/notes", {"body": "Price agreed"})
    assert note.status_code == 303 and note.headers["location"] == f"/deals/{deal}"
    assert (
        await client_b.post_form(f"/records/deal/{deal}/notes", {"body": "sneaky"})
    ).status_code == 404
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from notes where subject_id = $1", deal) == 1
