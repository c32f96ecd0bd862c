"""The search at scale: ~20k contacts in one workspace (and some in another), the contact
search's plan and time."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.accounts.services import load_current
from app.core.db import tenant_transaction
from app.crm.contact_keys import KEY_TABLES
from app.crm.secure import lookup_indexes
from app.search import services
from app.search.queries import Pattern, contacts_sql
from tests.helpers import Account

CONTACTS = 20_000
FIRST = ["Anna", "Ben", "Chloe", "Dmitri", "Eva", "Farid", "Grace", "Hugo", "Ines", "Jonas"]


async def seed_contacts(account: Account, count: int) -> None:
    """`count` contacts in one statement (COPY FROM is refused under RLS: INSERT … SELECT)."""
    async with tenant_transaction(account.tenant_id) as conn:
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name)"
            " select gen_random_uuid(), $1, ($2::text[])[1 + g % 10],"
            " initcap(substr(md5(g::text), 1, 8))"
            " from generate_series(1, $3) g",
            account.tenant_id,
            FIRST,
            count,
        )


@asynccontextmanager
async def at_scale(
    owner_conn: Any, many: Account, few: Account, analyze: str = "contacts, search_grams"
) -> AsyncIterator[str]:
    """CONTACTS contacts in `many` and 500 in `few`, analysed; yields a last name of `many`'s.
    After the test they are removed (later tests, the backups among them, must not carry 20k
    contacts and their grams), through each workspace's own transaction: RLS is forced, so the
    schema owner's connection would see, and delete, nothing."""
    await seed_contacts(many, CONTACTS)
    await seed_contacts(few, 500)
    await owner_conn.execute(f"analyze {analyze}")
    try:
        async with tenant_transaction(many.tenant_id) as conn:
            wanted = await conn.fetchval(
                "select last_name from contacts order by id limit 1 offset 12345"
            )
        yield wanted  # outside that transaction: the test opens its own
    finally:
        for account in (many, few):
            async with tenant_transaction(account.tenant_id) as conn:
                await conn.execute("delete from contacts")


def seq_scanned(plan: str) -> set[str]:
    """The tables a plan reads whole (Seq Scan nodes)."""
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if node.get("Node Type") == "Seq Scan":
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    for entry in json.loads(plan):
        walk(entry["Plan"])
    return found


def plan_of(explained: Any) -> str:
    return json.dumps(explained if isinstance(explained, list) else json.loads(explained))


async def test_contact_search_uses_its_index_at_scale(
    tenant_a: Account, tenant_b: Account, owner_conn: Any
) -> None:
    async with at_scale(owner_conn, tenant_a, tenant_b) as wanted:
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            sql, values = contacts_sql(tenant_a.tenant_id, Pattern.of(wanted[1:6]), [], None, 6)
            plan = plan_of(await conn.fetchval("explain (format json) " + sql, *values))
        # the pieces are looked up in search_grams' index (under RLS, as odex_app), and the
        # contacts read by id: no scan of the workspace's 20k rows
        assert '"Index Name": "search_grams_pkey"' in plan, plan
        # (a small companies table may be read whole for the company names: that's no scale)
        assert not {"contacts", "search_grams"} & seq_scanned(plan), plan

        current = await load_current(tenant_a.user_id, tenant_a.tenant_id)
        assert current is not None
        started = time.perf_counter()
        results = await services.search_workspace(current, wanted[1:6])
        took = time.perf_counter() - started
        names = [hit.title for group in results.groups for hit in group.hits]
        assert any(wanted in name for name in names)
        print(f"search over {CONTACTS} contacts: {took * 1000:.1f} ms")
        assert took < 1.0, f"search took {took:.3f} s"

        # an exact email or phone number: its blind indexes looked up in the key tables' index
        # and its words in the grams' (with the company domain's part): no scan of contacts
        for query in ("nobody@example.com", "+49 30 1234567"):
            indexes = lookup_indexes(query)
            domain = Pattern.of("example.com") if "@" in query else None
            async with tenant_transaction(tenant_a.tenant_id) as conn:
                sql, values = contacts_sql(
                    tenant_a.tenant_id, Pattern.of(query), indexes, domain, 6
                )
                plan = plan_of(await conn.fetchval("explain (format json) " + sql, *values))
            assert indexes and "contacts" not in seq_scanned(plan), plan
            assert all(f'"Relation Name": "{t}"' in plan for t in KEY_TABLES), plan

        # no word of three characters ("an"): a scan of the workspace's rows, still well inside
        # the bound
        for query in ("an", "nobody@example.com"):
            started = time.perf_counter()
            await services.search_workspace(current, query)
            took = time.perf_counter() - started
            print(f"search {query!r} over {CONTACTS} contacts: {took * 1000:.1f} ms")
            assert took < 2.0, f"search {query!r} took {took:.3f} s"
