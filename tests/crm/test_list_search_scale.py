"""The contact and company lists' search at scale: ~20k contacts in one workspace (and some in
another). A search of three characters or more goes through `search_grams` (its index, under
RLS as odex_app) and keeps the list's order and keyset pages; a shorter one is a range on the
name's sort columns. Plans and times asserted, results checked against a plain LIKE."""

from __future__ import annotations

import json
import time
from typing import Any

from app.core.db import tenant_transaction
from app.core.paging import Page, Window
from app.crm import contacts, list_queries
from app.crm.filters import ContactView, sort_spec
from app.crm.secure import lookup_indexes
from tests.crm.test_records import make_company
from tests.helpers import Account
from tests.search.test_search_scale import at_scale, seq_scanned

CONTACTS = 20_000


class Explaining:
    """The caller's connection, EXPLAIN ANALYZE-ing each query it runs first."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.plans: list[str] = []

    async def _explain(self, sql: str, args: tuple[Any, ...]) -> None:
        plan = await self.conn.fetchval("explain (analyze, format json) " + sql, *args)
        self.plans.append(json.dumps(plan if isinstance(plan, list) else json.loads(plan)))

    async def fetch(self, sql: str, *args: Any) -> Any:
        await self._explain(sql, args)
        return await self.conn.fetch(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self._explain(sql, args)
        return await self.conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> Any:
        return await self.conn.execute(sql, *args)


async def contact_page(
    account: Account, query: str, after: str | None = None, sort: str = ""
) -> tuple[Page, list[str]]:
    view = ContactView(q=query, sort=sort)
    window = Window(sort_spec(contacts.COLUMNS, "name", view, "c.id"), after, None, 50)
    async with tenant_transaction(account.tenant_id) as conn:
        spy = Explaining(conn)
        page = await list_queries.contact_page(
            spy,
            account.tenant_id,
            query,
            lookup_indexes(query),
            None,
            window,
            view,
        )
    return page, spy.plans


async def like_matches(account: Account, query: str) -> list[Any]:
    """What a plain LIKE finds, in the list's name order (the truth to compare with)."""
    async with tenant_transaction(account.tenant_id) as conn:
        rows = await conn.fetch(
            "select id from contacts where search_text like '%' || $1 || '%'"
            " order by sort_last, sort_first, id",
            query.lower(),
        )
    return [r["id"] for r in rows]


async def test_list_search_uses_the_grams_index_at_scale(
    tenant_a: Account, tenant_b: Account, owner_conn: Any
) -> None:
    async with at_scale(
        owner_conn, tenant_a, tenant_b, "contacts, companies, search_grams"
    ) as wanted:
        # a rare piece of a last name, and a first name 2,000 contacts share
        for query in (wanted[1:6], "Anna"):
            started = time.perf_counter()
            first, plans = await contact_page(tenant_a, query)
            took = time.perf_counter() - started
            truth = await like_matches(tenant_a, query)
            print(f"list search {query!r} over {CONTACTS} contacts: {took * 1000:.1f} ms")
            for plan in plans:  # the count and the page: the grams' index, no scan of contacts
                assert '"Index Name": "search_grams_pkey"' in plan, plan
                assert "contacts" not in seq_scanned(plan), plan
            assert took < 1.0, f"list search {query!r} took {took:.3f} s"
            assert first.extra["count"] == len(truth)
            shown = [row["id"] for row in first.rows]
            if first.next_cursor:  # the keyset's next page continues the same order
                second, _ = await contact_page(tenant_a, query, after=first.next_cursor)
                shown += [row["id"] for row in second.rows]
            assert shown == truth[: len(shown)] and shown, query

        # an exact email or phone number: the key tables' and the grams' indexes, no scan
        for query in ("nobody@example.com", "+49 30 1234567"):
            _, plans = await contact_page(tenant_a, query)
            for plan in plans:
                assert "contacts" not in seq_scanned(plan), plan
                # through the key tables (index or, while they are small here, a scan of
                # them: the seeded contacts have no emails or phones; which one is the
                # planner's choice by their size), never through contacts
                for keys in ("contact_email_keys", "contact_phone_keys"):
                    assert f'"Relation Name": "{keys}"' in plan, plan

        # sorted by another column, the search still narrows through the grams
        newest, plans = await contact_page(tenant_a, "Anna", sort="created")
        assert all('"search_grams_pkey"' in plan for plan in plans)
        assert len(newest.rows) == 50

        # one or two letters: the start of a name, a range on the sort index (no grams)
        started = time.perf_counter()
        short, plans = await contact_page(tenant_a, wanted[:2])
        took = time.perf_counter() - started
        assert all("contacts" not in seq_scanned(plan) for plan in plans), plans
        assert short.rows and all(
            row["last_name"].lower().startswith(wanted[:2].lower())
            or row["first_name"].lower().startswith(wanted[:2].lower())
            for row in short.rows
        )
        assert took < 1.0, f"short list search took {took:.3f} s"
        # the other workspace's contacts never show (RLS and the tenant condition)
        async with tenant_transaction(tenant_b.tenant_id) as conn:
            theirs = {r["id"] for r in await conn.fetch("select id from contacts")}
        assert not theirs & {row["id"] for row in short.rows}


async def test_company_list_search_through_grams(client_a: Any, client_b: Any) -> None:
    await make_company(client_b, "Gramophone Theirs")
    for name in ("Grambling Tools", "Program Works", "Gram", "Zzother"):
        await make_company(client_a, name, domain=f"{name.split()[0].lower()}.example")
    response = await client_a.get("/companies", params={"q": "gram"})
    assert response.status_code == 200
    text = response.text
    assert all(n in text for n in ("Grambling Tools", "Program Works", ">Gram<"))
    assert "Zzother" not in text and "Gramophone" not in text
    short = await client_a.get("/companies", params={"q": "Gr"})
    assert "Grambling Tools" in short.text and "Program Works" not in short.text
    assert 'id="short-search"' in short.text and "starts with" in short.text
    # a prefix ending in "z": its range ends at "a{" (in code points, whatever the collation)
    await make_company(client_a, "Azimuth Übersee")
    assert "Azimuth Übersee" in (await client_a.get("/companies", params={"q": "AZ"})).text
    assert "Azimuth Übersee" in (await client_a.get("/companies", params={"q": "übers"})).text
    assert (await client_a.get("/companies", params={"q": "\U0010ffff"})).status_code == 200
