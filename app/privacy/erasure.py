"""Erase one contact's personal data on request (a data subject's right to erasure).

The contact row goes; notes and tasks about the contact are deleted; the contact's timeline
entries are anonymised (their free text is replaced, the who-did-what-when stays); links from
deals are removed. Invoices name companies, not contacts, so they keep their legal content.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import Forbidden, RecordNotFound
from app.privacy import hooks

ERASED = "[erased on request]"

# (table, SQL with $1 = contact id) run when the table exists, in this order.
ERASURE_STEPS: list[tuple[str, str]] = [
    ("notes", "delete from notes where subject_type = 'contact' and subject_id = $1"),
    ("tasks", "delete from tasks where subject_type = 'contact' and subject_id = $1"),
    ("deal_contacts", "delete from deal_contacts where contact_id = $1"),
    (
        "activities",
        "update activities set summary = '" + ERASED + "', changes = '{}'::jsonb "
        "where subject_type = 'contact' and subject_id = $1",
    ),
    ("contacts", "delete from contacts where id = $1"),
]


async def contact_summary(current: Current, contact_id: UUID) -> dict[str, Any]:
    """What will be erased (shown on the confirmation page)."""
    async with tenant_transaction(current.tenant_id) as conn:
        contact = await conn.fetchrow(
            "select id, first_name, last_name from contacts where id = $1", contact_id
        )
        if contact is None:
            raise RecordNotFound()
        counts = {}
        for table, sql in ERASURE_STEPS[:-1]:
            if await conn.fetchval("select to_regclass($1)", f"public.{table}") is None:
                continue
            where = sql.split(" where ", 1)[1]
            counts[table] = await conn.fetchval(
                f"select count(*) from {table} where {where}", contact_id
            )
    return {"contact": dict(contact), "counts": counts}


async def erase_contact(current: Current, contact_id: UUID) -> dict[str, int]:
    """Erase a contact and its personal data in this workspace (admins); returns row counts."""
    if not current.is_admin:
        raise Forbidden("Only admins can erase a contact's personal data.")
    done: dict[str, int] = {}
    async with tenant_transaction(current.tenant_id) as conn:
        if not await conn.fetchval("select 1 from contacts where id = $1", contact_id):
            raise RecordNotFound()
        for table, sql in ERASURE_STEPS:
            if await conn.fetchval("select to_regclass($1)", f"public.{table}") is None:
                continue
            status = await conn.execute(sql, contact_id)
            done[table] = int(status.split()[-1])
        await hooks.audit(
            current.tenant_id, current.user_id, "privacy.contact_erased", f"contact {contact_id}"
        )
    return done
