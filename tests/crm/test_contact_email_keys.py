"""contact_email_keys (kept by triggers on contacts): a contact's email blind indexes, exact
after an insert (one row or a set), an edit of its emails (and not touched by other edits) and
its deletion; another workspace's keys are invisible and cannot be written; the import's
lookup finds the oldest contact having a key."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from app.core.db import tenant_transaction
from app.crm.import_dupes import CONTACTS
from app.crm.secure import email_indexes, seal_contact
from tests.helpers import Account


async def add_contact(conn: Any, tenant_id: UUID, name: str, emails: list[str]) -> UUID:
    contact_id = uuid4()
    await conn.execute(
        "insert into contacts (id, tenant_id, first_name, last_name, emails_enc, emails_bidx,"
        " phones_enc, phones_bidx) values ($1, $2, $3, 'Keyed', $4, $5, $6, $7)",
        contact_id,
        tenant_id,
        name,
        *seal_contact(emails, [], tenant_id, contact_id),
    )
    return contact_id


async def keys_of(conn: Any, contact_id: UUID) -> list[str]:
    rows = await conn.fetch(
        "select key from contact_email_keys where contact_id = $1 order by key", contact_id
    )
    return [r["key"] for r in rows]


async def test_keys_follow_a_contacts_emails(tenant_a: Account, tenant_b: Account) -> None:
    ada, grace = ["ada@keys.example", "ADA@keys.example "], ["grace@keys.example"]
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        theirs = await add_contact(conn, tenant_b.tenant_id, "Theirs", ada)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        one = await add_contact(conn, tenant_a.tenant_id, "Ada", ada)
        # both spellings have one index: one key
        assert await keys_of(conn, one) == sorted(set(email_indexes(ada)))
        assert len(await keys_of(conn, one)) == 1

        # a set-based insert: every row's keys
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, emails_bidx)"
            " select gen_random_uuid(), $1, 'KeyBulk' || g, 'Keyed', array[$2 || g, $3]"
            " from generate_series(1, 40) g",
            tenant_a.tenant_id,
            "bulk-",
            "shared",
        )
        bulk = await conn.fetchval(
            "select count(*) from contact_email_keys k join contacts c on c.id = k.contact_id"
            " where c.first_name like 'KeyBulk%'"
        )
        assert bulk == 80

        # an edit of the emails replaces the keys; an edit of anything else leaves them
        sealed = seal_contact(grace, [], tenant_a.tenant_id, one)
        await conn.execute(
            "update contacts set emails_enc = $2, emails_bidx = $3 where id = $1",
            one,
            sealed[0],
            sealed[1],
        )
        assert await keys_of(conn, one) == email_indexes(grace)
        await conn.execute("update contacts set title = 'Countess' where id = $1", one)
        assert await keys_of(conn, one) == email_indexes(grace)
        await conn.execute("update contacts set emails_bidx = '{}' where id = $1", one)
        assert await keys_of(conn, one) == []
        await conn.execute("update contacts set emails_bidx = $2 where id = $1", one, sealed[1])

        # the other workspace's contact has the same address: invisible here
        assert await keys_of(conn, theirs) == []
        owners = await conn.fetch(
            "select contact_id from contact_email_keys where key = any($1::text[])",
            email_indexes(ada),
        )
        assert owners == []

        # deleting the contact deletes its keys (cascade)
        await conn.execute("delete from contacts where id = $1", one)
        assert await keys_of(conn, one) == []
        await conn.execute("delete from contacts where first_name like 'KeyBulk%'")
        exact = await conn.fetchval(
            "select count(*) from contact_email_keys k full join (select distinct c.id, e.key"
            " from contacts c, unnest(c.emails_bidx) as e(key)) c"
            " on c.id = k.contact_id and c.key = k.key where k.key is null or c.key is null"
        )
        assert exact == 0
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert await keys_of(conn, theirs) == sorted(set(email_indexes(ada)))


async def test_keys_cannot_name_another_workspace(tenant_a: Account, tenant_b: Account) -> None:
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        theirs = await add_contact(conn, tenant_b.tenant_id, "Theirs", ["b@keys.example"])
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            await conn.execute(
                "insert into contact_email_keys (tenant_id, key, contact_id) values ($1, 'x', $2)",
                tenant_b.tenant_id,
                theirs,
            )


async def test_import_lookup_finds_the_oldest_contact(tenant_a: Account) -> None:
    shared = ["oldest@keys.example"]
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        first = await add_contact(conn, tenant_a.tenant_id, "First", shared)
        await conn.execute(
            "update contacts set created_at = now() - interval '1 day' where id = $1", first
        )
        await add_contact(conn, tenant_a.tenant_id, "Second", shared)
        keys = email_indexes([*shared, "nobody@keys.example"])
        known = await CONTACTS.known(conn, tenant_a.tenant_id, keys)
    assert known == {email_indexes(shared)[0]: first}
