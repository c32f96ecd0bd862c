"""CSV import of deals: header guesses, rows matched to the workspace's pipelines, stages,
members, companies and contacts (never another workspace's), bad rows reported, companies
created, re-imports skipped, roles, resumption exactly once."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from typing import Any

from app.core.db import tenant_transaction
from app.crm.import_jobs import import_crm_csv
from app.deals import pipelines
from tests.crm.test_import import count, import_id_of, upload
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import add_colleague, current_of
from tests.helpers import Account, browser_client, set_plan

HEADER = [
    "Deal name",
    "Amount",
    "Currency",
    "Pipeline",
    "Stage",
    "Organization",
    "Person",
    "Owner",
    "Close date",
    "Lost reason",
]


def deals_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(row + [""] * (len(HEADER) - len(row)))
    return buffer.getvalue().encode()


GUESSED = {f"col_{i}": t for i, t in enumerate(
    ["title", "value", "currency", "pipeline", "stage", "company", "contact", "owner",
     "expected_close_date", "lost_reason"]
)}  # fmt: skip


async def run(client: Any, content: bytes, on_duplicate: str = "") -> str:
    import_id = import_id_of(await upload(client, content, kind="deals", name="deals.csv"))
    form = dict(GUESSED, **({"on_duplicate": on_duplicate} if on_duplicate else {}))
    started = await client.post_form(f"/imports/{import_id}/run", form)
    assert started.status_code == 303, html.unescape(started.text)[:2000]
    from tests.helpers import run_jobs

    await run_jobs()
    return import_id


async def deals_of(account: Account) -> dict[str, Any]:
    async with tenant_transaction(account.tenant_id) as conn:
        rows = await conn.fetch(
            "select d.*, s.name as stage, c.name as company,"
            " (select array_agg(contact_id) from deal_contacts dc where dc.deal_id = d.id)"
            " as contacts from deals d join stages s on s.id = d.stage_id"
            " left join companies c on c.id = d.company_id"
        )
    return {r["title"]: r for r in rows}


async def report(client: Any, import_id: str) -> dict[int, str]:
    text = (await client.get(f"/imports/{import_id}/errors.csv")).text
    return {int(r[0]): r[1] for r in list(csv.reader(io.StringIO(text)))[1:]}


async def test_deal_import_matches_the_workspace_and_reports_bad_rows(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    colleague = await add_colleague(tenant_a, mailbox)
    initech = await make_company(client_a, "Initech", domain="initech.com")
    peter = await make_contact(client_a, "Peter", "Gibbons", emails="peter@initech.com")
    # B's records and pipeline have names A's file uses: A must never reach them
    await make_company(client_b, "Umbrella")
    await make_contact(client_b, "Bea", "Bee", emails="bea@umbrella.com")
    b_current = await current_of(tenant_b)
    b_pipeline = await pipelines.create_pipeline(b_current, "B Only")
    await pipelines.add_stage(b_current, b_pipeline, "Pitch", "open")

    rows = [
        ["Big deal", "1,234.50", "usd", "", "Qualified", "Initech", "peter@initech.com",
         colleague.email.upper(), "2027-01-31"],
        ["Domain deal", "500", "", "", "lead", "https://www.initech.com/", "Peter Gibbons"],
        ["New company deal", "10", "", "", "Proposal", "Brand New Co"],
        ["Bad stage", "10", "", "", "Nope"],
        ["Bad money", "ten euros", "", "", "Lead"],
        ["Lost without reason", "10", "", "", "Lost"],
        ["Lost with reason", "10", "", "", "LOST", "", "", "", "", "Too expensive"],
        ["Bad\x1btitle", "10"],
        ["x" * 100_000, "10"],
        ["B pipeline", "10", "", "B Only", "Pitch"],
        ["Umbrella deal", "10", "", "", "Lead", "Umbrella"],
        ["B contact", "10", "", "", "Lead", "", "bea@umbrella.com"],
        ["B owner", "10", "", "", "Lead", "", "", tenant_b.email],
        ["Won deal", "99", "", "", "Won", "initech"],
        ["Bad currency", "10", "XYZ", "", "Lead"],
        ["Second new company deal", "5", "", "", "", "brand new co"],
    ]  # fmt: skip
    content = deals_csv(rows)
    import_id = import_id_of(await upload(client_a, content, kind="deals", name="deals.csv"))
    page = html.unescape((await client_a.get(f"/imports/{import_id}")).text)
    for col, target in GUESSED.items():  # Pipedrive-style headers are recognised
        assert re.search(rf'name="{col}".*?<option value="{target}" selected', page, re.S), col
    assert 'value="skip" checked' in page and "are created" in page
    missing = await client_a.post_form(f"/imports/{import_id}/run", {"col_1": "value"})
    assert missing.status_code == 422
    assert "Map a column to the deal's title." in html.unescape(missing.text)
    odd = await client_a.post_form(
        f"/imports/{import_id}/run", dict(GUESSED, on_duplicate="update")
    )
    assert odd.status_code == 422 and "Choose what to do with rows you already have" in odd.text
    assert (await client_b.post_form(f"/imports/{import_id}/run", GUESSED)).status_code == 404
    assert (await client_a.post_form(f"/imports/{import_id}/run", GUESSED)).status_code == 303
    from tests.helpers import run_jobs

    await run_jobs()

    done = html.unescape((await client_a.get(f"/imports/{import_id}")).text)
    assert "Import finished" in done and "7 imported" in done and "9 failed" in done
    assert 'href="/deals"' in done and "are created" in done
    assert "2 companies created for rows naming a company you didn't have" in done
    deals = await deals_of(tenant_a)
    assert set(deals) == {
        "Big deal",
        "Domain deal",
        "New company deal",
        "Lost with reason",
        "Umbrella deal",
        "Won deal",
        "Second new company deal",
    }
    big = deals["Big deal"]
    assert (str(big["amount"]), big["currency"], big["stage"]) == ("1234.50", "USD", "Qualified")
    assert str(big["company_id"]) == initech and [str(c) for c in big["contacts"]] == [peter]
    assert big["owner_id"] == colleague.user_id and str(big["expected_close_date"]) == "2027-01-31"
    domain = deals["Domain deal"]
    assert str(domain["company_id"]) == initech and domain["currency"] == "EUR"
    assert domain["stage"] == "Lead" and [str(c) for c in domain["contacts"]] == [peter]
    assert deals["Lost with reason"]["lost_reason"] == "Too expensive"
    assert deals["Won deal"]["stage"] == "Won" and str(deals["Won deal"]["company_id"]) == initech
    new_co = deals["New company deal"]["company_id"]
    assert new_co is not None and deals["Second new company deal"]["company_id"] == new_co
    assert deals["Second new company deal"]["stage"] == "Lead"  # no stage: the first one
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        umbrella = await conn.fetchval(
            "select count(*) from companies where name = 'Umbrella' and tenant_id = $1",
            tenant_a.tenant_id,
        )
        imported = await conn.fetchval(
            "select count(*) from activities where subject_type = 'deal' and action = 'imported'"
        )
        positions = await conn.fetch(
            "select d.position from deals d join stages s on s.id = d.stage_id"
            " where s.name = 'Lead' order by d.position"
        )
    assert umbrella == 1 and imported == 7  # A's own Umbrella, created; a timeline entry each
    assert len({p["position"] for p in positions}) == len(positions)  # each at its own place
    assert await count(tenant_a, "companies") == 3  # Initech, Brand New Co, Umbrella
    assert await count(tenant_b, "deals") == 0 and await count(tenant_b, "companies") == 1

    reasons = await report(client_a, import_id)
    assert set(reasons) == {4, 5, 6, 8, 9, 10, 12, 13, 15}
    assert "use one of Lead, Qualified, Proposal, Negotiation, Won, Lost" in reasons[4]
    assert "Enter the value as a number" in reasons[5]
    assert "say why the deal was lost" in reasons[6]
    assert "No pipeline has that name" in reasons[10] and "B Only" not in reasons[10]
    assert "No contact has that email" in reasons[12] and "umbrella" not in reasons[12]
    assert "member of your workspace" in reasons[13]
    assert "ISO 4217" in reasons[15]
    assert "at most 200 characters" in reasons[9]
    assert "control character" in reasons[8]  # refused with a reason, never a 500
    nul = await upload(client_a, deals_csv([["Bad\x00title", "10"]]), kind="deals")
    assert nul.status_code == 422 and "it is binary" in html.unescape(nul.text)
    board = html.unescape((await client_a.get("/deals/board")).text)
    assert "Big deal" in board and "Won deal" in board
    found = await client_a.get("/search", params={"q": "Umbrella deal"})
    assert "Umbrella deal" in found.text  # search entries come with the deals

    # the same file again: every row with a known title and company is skipped
    again = await run(client_a, content)
    again_page = html.unescape((await client_a.get(f"/imports/{again}")).text)
    assert "0 imported" in again_page and "9 failed" in again_page
    assert "companies created" not in again_page
    assert len(await deals_of(tenant_a)) == 7
    # ... unless asked to import them as new deals
    await run(client_a, content, on_duplicate="create")
    assert await count(tenant_a, "deals") == 14
    assert await count(tenant_a, "companies") == 3  # the created ones are found by name now


async def test_members_import_deals_and_the_owner_sees_the_import(
    app: Any, client_a: Any, tenant_a: Account, mailbox: Any
) -> None:
    for role in ("member", "admin"):
        person = await add_colleague(tenant_a, mailbox, role)
        async with browser_client(app) as client:
            await client.login(person.email, person.password)
            import_id = await run(client, deals_csv([[f"By {role}", "1", "", "", "Lead"]]))
            assert "1 imported" in html.unescape((await client.get(f"/imports/{import_id}")).text)
        listing = await client_a.get("/imports")
        assert f"/imports/{import_id}" in listing.text
    assert set(await deals_of(tenant_a)) == {"By member", "By admin"}
    new = html.unescape((await client_a.get("/imports/new", params={"kind": "deals"})).text)
    assert '<option value="deals" selected' in new
    board = (await client_a.get("/deals/board")).text
    assert 'href="/imports/new?kind=deals"' in board


async def test_a_new_company_past_the_plan_limit_fails_its_row(
    client_a: Any, tenant_a: Account
) -> None:
    """Free holds 500 contacts and companies: deals import freely, companies stop at the
    limit, and only the rows that needed a new company fail."""
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "insert into companies (id, tenant_id, name) select gen_random_uuid(), $1,"
            " 'Filler ' || i from generate_series(1, 499) as i",
            tenant_a.tenant_id,
        )
    rows = [["One", "1", "", "", "", "Fresh A"], ["Two", "1", "", "", "", "Fresh B"]]
    rows += [["Three", "1", "", "", "", "Fresh A"], ["Four", "1", "", "", "", "Filler 7"]]
    import_id = await run(client_a, deals_csv(rows))
    assert set(await deals_of(tenant_a)) == {"One", "Three", "Four"}
    reasons = await report(client_a, import_id)
    assert list(reasons) == [2] and "Free plan's limit of 500" in reasons[2]


async def test_deal_import_resumes_after_a_crash_exactly_once(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await set_plan(tenant_a, "pro")
    rows = [[f"Deal {i}", str(i), "", "", "Lead", f"Co {i % 3}"] for i in range(1, 2501)]
    import_id = import_id_of(await upload(client_a, deals_csv(rows), kind="deals"))
    assert (await client_a.post_form(f"/imports/{import_id}/run", GUESSED)).status_code == 303
    # a worker that dies after its first batch: that batch and its progress are committed
    assert await import_crm_csv({}, str(tenant_a.tenant_id), import_id, 1) == 1000
    assert await count(tenant_a, "deals") == 1000
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "update crm_imports set updated_at = now() - interval '1 hour' where id = $1",
            uuid.UUID(import_id),
        )
    assert (await client_a.post_form(f"/imports/{import_id}/resume")).status_code == 303
    from tests.helpers import run_jobs

    await run_jobs()
    assert await import_crm_csv({}, str(tenant_a.tenant_id), import_id) == 0
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        titles = await conn.fetchval("select count(distinct title) from deals")
        positions = await conn.fetchval("select count(distinct position) from deals")
    assert await count(tenant_a, "deals") == 2500 == titles == positions  # none twice
    assert await count(tenant_a, "companies") == 3
    page = html.unescape((await client_a.get(f"/imports/{import_id}")).text)
    assert "Import finished" in page and "2,500 imported" in page
    assert await count(tenant_b, "deals") == 0


def test_common_header_names_are_guessed() -> None:
    from app.crm.imports import guess_mapping
    from app.deals.imports import DEALS

    headers = ["Title", "Value", "Company", "Email", "Deal owner", "Expected close date", "Notes"]
    assert guess_mapping(DEALS, headers) == {
        "0": "title",
        "1": "value",
        "2": "company",
        "3": "contact",
        "4": "owner",
        "5": "expected_close_date",
    }
    other = ["Name", "Amount", "Deal stage", "Organisation", "Person", "Close date", "Status"]
    assert guess_mapping(DEALS, other) == {
        "0": "title",
        "1": "value",
        "2": "stage",
        "3": "company",
        "4": "contact",
        "5": "expected_close_date",
    }
