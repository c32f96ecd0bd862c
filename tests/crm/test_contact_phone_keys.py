"""contact_phone_keys (kept by triggers on contacts): a contact's phone blind indexes, exact
after an insert (one row or a set), an edit of its phones (and not touched by other edits), a
clearing and its deletion; another workspace's keys are invisible and cannot be written; the
list search, the workspace search and the duplicate check find a contact by an exact number
or address through the key tables (their plans at scale: tests/search/test_search_scale.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from app.core.db import tenant_transaction
from app.core.paging import Params
from app.crm.duplicates import matching_contacts
from app.crm.filters import contact_search
from app.crm.secure import lookup_indexes, phone_indexes, seal_contact
from app.search.queries import Pattern, contacts_sql
from tests.helpers import Account


async def add_contact(
    conn: Any, tenant_id: UUID, name: str, phones: list[str], emails: list[str] | None = None
) -> UUID:
    contact_id = uuid4()
    await conn.execute(
        "insert into contacts (id, tenant_id, first_name, last_name, emails_enc, emails_bidx,"
        " phones_enc, phones_bidx) values ($1, $2, $3, 'Keyed', $4, $5, $6, $7)",
        contact_id,
        tenant_id,
        name,
        *seal_contact(emails or [], phones, tenant_id, contact_id),
    )
    return contact_id


async def keys_of(conn: Any, contact_id: UUID) -> list[str]:
    rows = await conn.fetch(
        "select key from contact_phone_keys where contact_id = $1 order by key", contact_id
    )
    return [r["key"] for r in rows]


async def test_keys_follow_a_contacts_phones(tenant_a: Account, tenant_b: Account) -> None:
    ada, grace = ["+44 20 7946 0958", "44-20-7946-0958"], ["+1 555 0100", "+1 555 0199"]
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        theirs = await add_contact(conn, tenant_b.tenant_id, "Theirs", ada)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        one = await add_contact(conn, tenant_a.tenant_id, "Ada", ada)
        # both spellings have one index (the digits): one key
        assert await keys_of(conn, one) == sorted(set(phone_indexes(ada)))
        assert len(await keys_of(conn, one)) == 1

        # a set-based insert: every row's keys
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, phones_bidx)"
            " select gen_random_uuid(), $1, 'KeyBulk' || g, 'Keyed', array[$2 || g, $3]"
            " from generate_series(1, 40) g",
            tenant_a.tenant_id,
            "bulk-",
            "shared",
        )
        bulk = await conn.fetchval(
            "select count(*) from contact_phone_keys k join contacts c on c.id = k.contact_id"
            " where c.first_name like 'KeyBulk%'"
        )
        assert bulk == 80

        # an edit of the phones replaces the keys; an edit of anything else leaves them
        sealed = seal_contact([], grace, tenant_a.tenant_id, one)
        await conn.execute(
            "update contacts set phones_enc = $2, phones_bidx = $3 where id = $1",
            one,
            sealed[2],
            sealed[3],
        )
        assert await keys_of(conn, one) == sorted(phone_indexes(grace))
        await conn.execute("update contacts set title = 'Countess' where id = $1", one)
        assert await keys_of(conn, one) == sorted(phone_indexes(grace))
        # the emails' keys are another table's: an edit of them leaves the phones' keys
        await conn.execute("update contacts set emails_bidx = '{x}' where id = $1", one)
        assert await keys_of(conn, one) == sorted(phone_indexes(grace))
        await conn.execute("update contacts set phones_bidx = '{}' where id = $1", one)
        assert await keys_of(conn, one) == []
        await conn.execute("update contacts set phones_bidx = $2 where id = $1", one, sealed[3])

        # the other workspace's contact has the same number: invisible here
        assert await keys_of(conn, theirs) == []
        owners = await conn.fetch(
            "select contact_id from contact_phone_keys where key = any($1::text[])",
            phone_indexes(ada),
        )
        assert owners == []

        # deleting the contact deletes its keys (cascade)
        await conn.execute("delete from contacts where id = $1", one)
        assert await keys_of(conn, one) == []
        await conn.execute("delete from contacts where first_name like 'KeyBulk%'")
        exact = await conn.fetchval(
            "select count(*) from contact_phone_keys k full join (select distinct c.id, p.key"
            " from contacts c, unnest(c.phones_bidx) as p(key)) c"
            " on c.id = k.contact_id and c.key = k.key where k.key is null or c.key is null"
        )
        assert exact == 0
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert await keys_of(conn, theirs) == sorted(set(phone_indexes(ada)))


async def test_keys_cannot_name_another_workspace(tenant_a: Account, tenant_b: Account) -> None:
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        theirs = await add_contact(conn, tenant_b.tenant_id, "Theirs", ["+1 555 0123"])
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            await conn.execute(
                "insert into contact_phone_keys (tenant_id, key, contact_id) values ($1, 'x', $2)",
                tenant_b.tenant_id,
                theirs,
            )


async def test_searches_find_exact_numbers_and_addresses_by_key(
    tenant_a: Account, tenant_b: Account
) -> None:
    phone, email = "+49 30 5550123", "lovelace@keys.example"
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        await add_contact(conn, tenant_b.tenant_id, "Theirs", [phone], [email])
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        ada = await add_contact(conn, tenant_a.tenant_id, "Ada", [phone], [email])
        await add_contact(conn, tenant_a.tenant_id, "Other", ["+49 30 5550999"], ["o@keys.example"])
        # a title holding a number: found by its substring, as before (the number itself is
        # exact: Ada's is longer)
        titled = await add_contact(conn, tenant_a.tenant_id, "Titled", [])
        await conn.execute("update contacts set title = 'desk 5550123' where id = $1", titled)
        for query, expected in (
            (phone, {ada}),
            ("49-30-555-0123", {ada}),
            ("5550123", {titled}),
            ("55 5", set()),  # no word of three digits: the LIKE alone
            ("k 5550", {titled}),
            (email, {ada}),
            ("LOVELACE@keys.example", {ada}),
            ("nobody@keys.example", set()),
        ):
            params = Params()
            tenant = params.add(tenant_a.tenant_id)
            where = contact_search(params, query, lookup_indexes(query), tenant_a.tenant_id)
            sql = f"select c.id from contacts c where c.tenant_id = {tenant} and {where}"
            rows = await conn.fetch(sql, *params.values)
            assert {r["id"] for r in rows} == expected, query

            sql, values = contacts_sql(
                tenant_a.tenant_id, Pattern.of(query), lookup_indexes(query), None, 10
            )
            found = await conn.fetch(sql, *values)
            assert {r["id"] for r in found} == expected, query
            assert all(r["rank"] == 0 for r in found if r["id"] == ada)

        # the duplicate check: the same number or address, each alone
        by_phone = await matching_contacts(conn, tenant_a.tenant_id, [], [phone], "", None)
        by_email = await matching_contacts(conn, tenant_a.tenant_id, [email], [], "", None)
        assert [m.id for m in by_phone] == [ada] == [m.id for m in by_email]
        assert await matching_contacts(conn, tenant_a.tenant_id, [phone], [email], "", None) == []
