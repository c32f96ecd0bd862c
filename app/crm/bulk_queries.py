"""The SQL of bulk jobs that Piccolo cannot say well: the selection frozen into `bulk_items`
in one statement, the next batch taken under row locks, each batch's outcome written back.
Every statement runs inside the caller's tenant transaction (RLS) and names the tenant too."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from app.core.paging import Params
from app.core.rows import execute_count
from app.crm.bulk_types import Previous


async def count_view(
    conn: asyncpg.Connection, from_sql: str, id_column: str, where: list[str], params: Params
) -> int:
    """How many records the list's view holds now."""
    sql = f"select count(distinct {id_column}) from {from_sql} where {' and '.join(where)}"
    return int(await conn.fetchval(sql, *params.values))


async def view_ids(
    conn: asyncpg.Connection,
    from_sql: str,
    id_column: str,
    where: list[str],
    params: Params,
    limit: int,
) -> list[UUID]:
    """The view's ids in id order, at most `limit`."""
    cap = params.add(limit)
    sql = (
        f"select distinct {id_column} as id from {from_sql} where {' and '.join(where)}"
        f" order by 1 limit {cap}"
    )
    return [r["id"] for r in await conn.fetch(sql, *params.values)]


async def freeze_view(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    change_id: UUID,
    from_sql: str,
    id_column: str,
    where: list[str],
    params: Params,
) -> int:
    """Keep the view's ids now as the job's selection (records created later are not in it);
    how many."""
    tenant, change = params.add(tenant_id), params.add(change_id)
    sql = (
        f"insert into bulk_items (tenant_id, change_id, record_id)"
        f" select distinct {tenant}::uuid, {change}::uuid, {id_column} from {from_sql}"
        f" where {' and '.join(where)}"
    )
    return await execute_count(conn, sql, *params.values)


async def freeze_changed(
    conn: asyncpg.Connection, tenant_id: UUID, undo_id: UUID, change_id: UUID
) -> int:
    """An undo job's selection: the records the change changed (its items are the view it
    freezes); how many."""
    params = Params()
    changed = [
        f"tenant_id = {params.add(tenant_id)}",
        f"change_id = {params.add(change_id)}",
        "state = 'changed'",
    ]
    return await freeze_view(conn, tenant_id, undo_id, "bulk_items", "record_id", changed, params)


async def next_batch(
    conn: asyncpg.Connection, tenant_id: UUID, change_id: UUID, size: int
) -> list[UUID]:
    """The next records still to do, locked until the batch commits (a second run of the job
    waits here, then finds them done)."""
    rows = await conn.fetch(
        "select record_id from bulk_items where tenant_id = $1 and change_id = $2"
        " and state = 'todo' order by record_id limit $3 for update",
        tenant_id,
        change_id,
        size,
    )
    return [r["record_id"] for r in rows]


async def mark_batch(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    change_id: UUID,
    ids: list[UUID],
    changed: list[Previous],
) -> None:
    """Write the batch's outcome: the changed records with their previous value and the
    version they were left at, the others skipped."""
    if changed:
        await conn.execute(
            "update bulk_items i set state = 'changed', version = c.version,"
            " previous = c.previous::jsonb from unnest($3::uuid[], $4::int[], $5::text[])"
            " as c(record_id, version, previous)"
            " where i.tenant_id = $1 and i.change_id = $2 and i.record_id = c.record_id",
            tenant_id,
            change_id,
            [p.id for p in changed],
            [p.version for p in changed],
            [msgspec.json.encode(p.value).decode() for p in changed],
        )
    await conn.execute(
        "update bulk_items set state = 'skipped' where tenant_id = $1 and change_id = $2"
        " and record_id = any($3::uuid[]) and state = 'todo'",
        tenant_id,
        change_id,
        ids,
    )


async def previous_of(
    conn: asyncpg.Connection, tenant_id: UUID, change_id: UUID, ids: list[UUID]
) -> list[Previous]:
    """What the change did to these records (for its undo)."""
    rows = await conn.fetch(
        "select record_id, version, previous::text as previous from bulk_items"
        " where tenant_id = $1 and change_id = $2 and record_id = any($3::uuid[])"
        " and state = 'changed'",
        tenant_id,
        change_id,
        ids,
    )
    return [
        Previous(
            r["record_id"],
            r["version"],
            msgspec.json.decode(r["previous"] or "null", type=str | list[str] | None),
        )
        for r in rows
    ]


async def changed_count(conn: asyncpg.Connection, tenant_id: UUID, change_id: UUID) -> int:
    return int(
        await conn.fetchval(
            "select count(*) from bulk_items where tenant_id = $1 and change_id = $2"
            " and state = 'changed'",
            tenant_id,
            change_id,
        )
    )


CUSTOM_TABLES = {"contact": "contacts", "company": "companies", "deal": "deals"}  # never input


async def lock_custom_values(
    conn: asyncpg.Connection, singular: str, ids: list[UUID]
) -> list[tuple[UUID, int, str]]:
    """(id, version, custom values as JSON text) of these records, locked, in id order."""
    rows = await conn.fetch(
        f"select id, version, custom_values::text as cv from {CUSTOM_TABLES[singular]}"
        " where id = any($1::uuid[]) order by id for update",
        ids,
    )
    return [(r["id"], r["version"], r["cv"]) for r in rows]


async def save_custom_values(
    conn: asyncpg.Connection, singular: str, record_id: UUID, version: int, values: str
) -> bool:
    """Write a record's custom values and its next version, if still at `version`."""
    saved = await conn.fetchval(
        f"update {CUSTOM_TABLES[singular]} set custom_values = $3::jsonb,"
        " version = version + 1, updated_at = now() where id = $1 and version = $2 returning id",
        record_id,
        version,
        values,
    )
    return saved is not None
