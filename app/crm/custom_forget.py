"""Custom fields in account deletion: a member field naming the person is cleared on every
record of each workspace they belonged to (the data map's forget_user treatment)."""

from __future__ import annotations

from app.core.datamap import Subject
from app.core.db import tenant_transaction

# the tables holding custom values (fixed names, never input)
TABLES = {"contact": "contacts", "company": "companies", "deal": "deals"}


async def forget_member_in_custom_values(subject: Subject) -> int:
    """Clear the member fields whose value is the person; how many values."""
    if subject.user_id is None:
        return 0
    cleared = 0
    for tenant_id in subject.tenant_ids:
        async with tenant_transaction(tenant_id) as conn:
            fields = await conn.fetch(
                "select id::text as id, object_kind from custom_fields where field_type = 'user'"
            )
            for field in fields:
                status = await conn.execute(
                    f"update {TABLES[field['object_kind']]}"  # a fixed name
                    " set custom_values = custom_values - $1 where custom_values ->> $1 = $2",
                    field["id"],
                    str(subject.user_id),
                )
                cleared += int(status.split()[-1])
    return cleared
