"""A list page and its count are one statement: the whole list's count is the kept record
count, a search's or filter's is counted (the search's pieces looked up once for both); the
count is the view's on every page, and a page after a cursor that came back empty (its rows
deleted meanwhile) still says how many the view holds."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

from app.core.db import tenant_transaction
from app.core.grams import rarest_pieces
from app.core.paging import Page, Params, Window
from app.crm import contacts, list_queries
from app.crm.filters import ContactView, sort_spec
from app.crm.secure import seal_contact
from tests.deals.helpers import current_of
from tests.helpers import Account


class Spy:
    """The caller's connection, keeping each statement it runs."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements: list[str] = []

    async def fetch(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return await self.conn.fetch(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return await self.conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> Any:  # settings: not the page's reads
        return await self.conn.execute(sql, *args)


async def page_of(
    account: Account, query: str = "", after: str | None = None, size: int = 5
) -> tuple[Page, list[str]]:
    view = ContactView(q=query)
    window = Window(sort_spec(contacts.COLUMNS, "name", view, "c.id"), after, None, size)
    async with tenant_transaction(account.tenant_id) as conn:
        spy = Spy(conn)
        page = await list_queries.contact_page(
            spy, account.tenant_id, query, [], None, window, view
        )
    return page, spy.statements


async def add(account: Account, last: str, count: int) -> list[UUID]:
    async with tenant_transaction(account.tenant_id) as conn:
        rows = await conn.fetch(
            "insert into contacts (id, tenant_id, first_name, last_name)"
            " select gen_random_uuid(), $1, 'Cnt' || lpad(g::text, 3, '0'), $2"
            " from generate_series(1, $3) g returning id",
            account.tenant_id,
            last,
            count,
        )
    return [r["id"] for r in rows]


async def test_page_and_count_in_one_statement(tenant_a: Account, tenant_b: Account) -> None:
    await add(tenant_b, "Zählwerk", 4)  # another workspace's matches are not counted
    ids = await add(tenant_a, "Zählwerk", 12)
    await add(tenant_a, "Andere", 3)

    whole, statements = await page_of(tenant_a)
    assert whole.extra["count"] == 15 and len(statements) == 1
    assert "record_counts" in statements[0]

    first, statements = await page_of(tenant_a, "zählw")
    assert first.extra["count"] == 12 and len(first.rows) == 5 and len(statements) == 1
    # the search's pieces are looked up once, for the page and its count
    assert statements[0].count("search_grams g") == 1

    # every page of a search counts the matches as it orders them (a window count taken
    # before the cursor's condition): its matches are read once, not again for a count
    assert "count(*) over ()" in statements[0]
    second, statements = await page_of(tenant_a, "zählw", after=first.next_cursor)
    assert second.extra["count"] == 12 and len(second.rows) == 5
    assert "count(*) over ()" in statements[0] and "as counted" not in statements[0]
    assert statements[0].count("from contacts c") == 2  # the matches, then the page's rows
    assert {r["id"] for r in second.rows}.isdisjoint({r["id"] for r in first.rows})
    # back from the second page: the first page again, counted the same
    view = ContactView(q="zählw")
    spec = sort_spec(contacts.COLUMNS, "name", view, "c.id")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        back = await list_queries.contact_page(
            conn,
            tenant_a.tenant_id,
            "zählw",
            [],
            None,
            Window(spec, None, second.prev_cursor, 5),
            view,
        )
    assert [r["id"] for r in back.rows] == [r["id"] for r in first.rows]
    assert back.extra["count"] == 12 and back.prev_cursor is None

    # the rows after the third page's cursor are gone: an empty page, the view still counted
    third, _ = await page_of(tenant_a, "zählw", after=second.next_cursor)
    assert len(third.rows) == 2
    last = third.rows[-1]["id"]
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "delete from contacts where id = any($1::uuid[])", [r["id"] for r in third.rows]
        )
    assert last in ids
    fourth, statements = await page_of(tenant_a, "zählw", after=second.next_cursor)
    assert fourth.rows == [] and fourth.extra["count"] == 10 and len(statements) == 2
    gone, _ = await page_of(tenant_a, "nichtda")
    assert gone.rows == [] and gone.extra["count"] == 0


async def test_a_search_runs_its_generic_plan_and_only_the_search(
    tenant_a: Account, tenant_b: Account
) -> None:
    """A search through the grams runs its statement's cached generic plan (not planned again
    on every page: the plan follows the grams' candidates, which no plan can see into); the
    rest of the transaction goes back to PostgreSQL's usual choice (a filter's generic plan
    can be far off for a small workspace beside a large one)."""
    await add(tenant_b, "Planvoll", 3)
    await add(tenant_a, "Planvoll", 7)
    view = ContactView(q="planv")
    window = Window(sort_spec(contacts.COLUMNS, "name", view, "c.id"), None, None, 5)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        for _ in range(3):
            page = await list_queries.contact_page(
                conn, tenant_a.tenant_id, "planv", [], None, window, view
            )
            assert page.extra["count"] == 7 and len(page.rows) == 5
            assert await conn.fetchval("show plan_cache_mode") == "auto"
        plans = await conn.fetch(
            "select generic_plans, custom_plans from pg_prepared_statements"
            " where statement like '%search_grams g%' and not from_sql"
        )
    assert plans, "the search's statement is prepared (the connection's statement cache)"
    assert sum(p["generic_plans"] for p in plans) >= 3
    assert all(p["custom_plans"] == 0 for p in plans), [dict(p) for p in plans]


def _gated_scans(node: dict[str, Any], table: str) -> list[str]:
    """The scans of `table` in a JSON plan that sit under a Result node with a one-time
    filter: every row they return passes through it."""
    found = []
    gate = node.get("One-Time Filter") if node["Node Type"] == "Result" else None
    for child in node.get("Plans", []):
        if gate and child.get("Relation Name") == table:
            found.append(f"{child['Node Type']} under {gate}")
        found += _gated_scans(child, table)
    return found


async def test_a_search_reads_its_postings_under_rls_through_no_gate(
    tenant_a: Account, tenant_b: Account
) -> None:
    """Under RLS (odex_app) the search's scans of `search_grams` (the rarity counts of its
    pieces, their postings) return their rows straight to the statement: no Result node
    comparing the policy's tenant with the statement's on each row (~11 ns a row, ~10 % of
    a count of a common piece's postings: `app.core.grams.tenant_is`). Still filtered to the
    tenant: the other tenant's matches are not counted."""
    await add(tenant_b, "Gatefrei", 4)
    await add(tenant_a, "Gatefrei", 6)
    view = ContactView(q="gatefrei")
    window = Window(sort_spec(contacts.COLUMNS, "name", view, "c.id"), None, None, 5)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        seen: list[tuple[str, tuple[Any, ...]]] = []

        class Keep(Spy):
            async def fetch(self, sql: str, *args: Any) -> Any:
                seen.append((sql, args))
                return await self.conn.fetch(sql, *args)

        page = await list_queries.contact_page(
            Keep(conn), tenant_a.tenant_id, "gatefrei", [], None, window, view
        )
        assert page.extra["count"] == 6
        ((sql, args),) = [(s, a) for s, a in seen if "search_grams" in s]
        plan = await conn.fetchval(f"explain (format json) {sql}", *args)
    tree = json.loads(plan)[0]["Plan"]
    assert "search_grams" in json.dumps(tree)  # the postings are read (not planned away)
    assert _gated_scans(tree, "search_grams") == []


async def test_company_contacts_by_name_with_their_first_address(
    tenant_a: Account, tenant_b: Account
) -> None:
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        company = await conn.fetchval(
            "insert into companies (id, tenant_id, name) values (gen_random_uuid(), $1, 'Firma')"
            " returning id",
            tenant_a.tenant_id,
        )
        for first, last in (("Zoe", "Alpha"), ("Ada", "Beta"), ("Bo", "Alpha")):
            contact_id = uuid4()
            emails, bidx, phones, pidx = seal_contact(
                [f"{first}@firma.example", f"{first}.2@firma.example"],
                ["+1 555 0100"],
                tenant_a.tenant_id,
                contact_id,
            )
            await conn.execute(
                "insert into contacts (id, tenant_id, first_name, last_name, company_id,"
                " emails_enc, emails_bidx, phones_enc, phones_bidx)"
                " values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                contact_id, tenant_a.tenant_id, first, last, company, emails, bidx, phones, pidx,
            )  # fmt: skip
        await add(tenant_a, "Elsewhere", 2)  # no company: not listed
    current = await current_of(tenant_a)
    page = await contacts.company_contacts(current, company, limit=2)
    assert [(r["first_name"], r["emails"]) for r in page.rows] == [
        ("Bo", ["Bo@firma.example"]),
        ("Zoe", ["Zoe@firma.example"]),
    ]
    assert (page.next_cursor and "phones" not in page.rows[0]) or page.rows[0]["phones"] == []
    whole = await contacts.company_contacts(current, company)
    assert [r["last_name"] for r in whole.rows] == ["Alpha", "Alpha", "Beta"]
    assert whole.next_cursor is None
    theirs = await contacts.company_contacts(await current_of(tenant_b), company)
    assert theirs.rows == []


async def test_whole_list_count_is_exact_past_the_cap(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """The whole list says how many contacts the workspace holds (the kept record count), even
    past COUNT_CAP; a search over more than that says "10,000+"; another workspace's are not
    counted; a delete shows at once."""
    await add(tenant_b, "Fremd", 50)
    await add(tenant_a, "Vielzahl", list_queries.COUNT_CAP + 2)
    whole, _ = await page_of(tenant_a)
    assert whole.extra["count"] == list_queries.COUNT_CAP + 2
    page = (await client_a.get("/contacts")).text
    assert 'id="view-count">10,002 contacts<' in page
    searched, _ = await page_of(tenant_a, "vielzahl", after=whole.next_cursor)
    assert searched.extra["count"] == list_queries.COUNT_CAP + 1  # shown as "10,000+"
    listed = (await client_a.get("/contacts", params={"q": "vielz"})).text
    assert 'id="view-count">10,000+ contacts in this view<' in listed
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("delete from contacts where first_name = 'Cnt001'")
    assert 'id="view-count">10,001 contacts<' in (await client_a.get("/contacts")).text


async def test_search_narrows_by_its_rarest_pieces_and_stays_exact(
    tenant_a: Account, tenant_b: Account
) -> None:
    """The grams narrow by the query's two rarest pieces in the workspace (counted up to a
    cap), the LIKE keeps only true matches: records holding every piece of "müller" but not
    the word, or only its rare pieces, are not shown; common pieces are never the ones read."""
    await add(tenant_b, "Müller", 3)  # another workspace's matches are not counted
    await add(tenant_a, "Keller", 30)  # "lle", "ler": common here
    await add(tenant_a, "Müll Keller", 2)  # every piece of "müller", not the word
    await add(tenant_a, "Müllfeld", 2)  # the rare pieces only
    wanted = await add(tenant_a, "Müller", 4)
    wanted += await add(tenant_a, "Ruhmüller", 1)
    for query in ("müller", "MÜLLER", "üller", "mülle"):
        page, statements = await page_of(tenant_a, query, size=50)
        assert sorted(r["id"] for r in page.rows) == sorted(wanted), query
        assert page.extra["count"] == 5 and len(statements) == 1
    # the two rarest pieces are read: "mül" and "üll" (9 records each), not "lle", "ler"
    params = Params()
    tenant = params.add(tenant_a.tenant_id)
    rarest = rarest_pieces(params, tenant, "contact", "Müller")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval(f"select {rarest}", *params.values) == ["mül", "üll"]
        params = Params()
        tenant = params.add(tenant_a.tenant_id)
        short = rarest_pieces(params, tenant, "contact", "Kell")  # two pieces: both
        assert sorted(await conn.fetchval(f"select {short}", *params.values)) == ["ell", "kel"]
