"""The privacy domain's SQL that Piccolo cannot say well, as named typed functions: the purge's
catalogue reads and ctid batches, the deletion sweep's due requests, joins with the accounts'
users and memberships, the usage figures' aggregates. Ordinary single-table reads and writes go
through the Piccolo tables (app/privacy/tables.py and the lower domains'). Call inside the
caller's transaction."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg
import msgspec

from app.core.datamap import Place, Subject, like_any
from app.core.rows import execute_count, fetch_as, fetch_value, fetch_values

# ---- the purge ---------------------------------------------------------------------------


async def deletable_tables(conn: asyncpg.Connection, names: list[str]) -> list[str]:
    """Those of `names` that exist and that the app's role may delete from."""
    return await fetch_values(
        conn,
        str,
        "select t from unnest($1::text[]) as t where to_regclass('public.' || t) is not null"
        " and has_table_privilege('public.' || t, 'DELETE')",
        names,
    )


async def foreign_key_edges(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """(child table, parent table) of every foreign key between two different tables."""
    rows = await conn.fetch(
        "select src.relname as child, dst.relname as parent from pg_constraint k "
        "join pg_class src on src.oid = k.conrelid join pg_class dst on dst.oid = k.confrelid "
        "where k.contype = 'f' and k.conrelid <> k.confrelid"
    )
    return [(str(r["child"]), str(r["parent"])) for r in rows]


async def delete_some(conn: asyncpg.Connection, table: str, limit: int) -> int:
    """Delete up to `limit` rows of `table` that RLS shows (any rows: the whole tenant goes);
    how many. `table` comes from the data map, never from input. For tables without a
    tenant-leading unique index (small ones); the others go by `delete_after`."""
    return await execute_count(
        conn,
        f'delete from "{table}" where ctid = any(array(select ctid from "{table}" limit {limit}))',
    )


async def tenant_key(conn: asyncpg.Connection, table: str) -> list[str] | None:
    """The columns after ``tenant_id`` of the table's shortest unique index that starts with
    it (plain columns, no predicate): the order a purge deletes the tenant's rows in, batch
    after batch, each batch starting where the last ended (``[]``: one row per tenant). None
    if there is no such index."""
    keys = await fetch_values(
        conn,
        list,
        "select array(select a.attname::text from unnest(i.indkey::int2[]) with ordinality"
        " as k(attnum, n) join pg_attribute a on a.attrelid = i.indrelid"
        " and a.attnum = k.attnum order by k.n) from pg_index i"
        " where i.indrelid = ('public.' || quote_ident($1))::regclass and i.indisunique"
        " and i.indisvalid and i.indpred is null and i.indexprs is null"
        " and 0 <> all(i.indkey::int2[])",
        table,
    )
    led = [list(k) for k in keys if k and k[0] == "tenant_id"]
    return min(led, key=len)[1:] if led else None


# A batch is planned as what it is, whatever the statistics say of a table just filled or just
# emptied: the key's index gives the order (a sort would read every row of the workspace, dead
# ones too), and the batch's rows are deleted by their row addresses (a TID scan), not by a join
# back on the key: with a new workspace's rows not in the statistics yet, the join scanned every
# row of the workspace for each batch (20k rows read to delete 500; the first batches of a purge
# after a bulk load took seconds). A row updated meanwhile has a new address and is left to the
# next pass from the start.
BATCH_PLAN = ("enable_sort",)


def batch_after_sql(table: str, key: list[str], after: list[object] | None, limit: int) -> str:
    """`delete_after`'s statement ($1 the tenant, then the key values of `after`)."""
    cols = ", ".join(f'"{c}"' for c in key)
    since = ""
    if after is not None:
        marks = ", ".join(f"${n}" for n in range(2, len(key) + 2))
        since = f" and ({cols}) > ({marks})"
    last = ", ".join(f'"{c}" desc' for c in key)
    return (
        f'with batch as materialized (select ctid as row_at, {cols} from "{table}"'
        f" where tenant_id = $1 {since} order by {cols} limit {int(limit)}),"
        f' gone as (delete from "{table}" where ctid = any(array(select row_at from batch))'
        f" and tenant_id = $1 returning 1)"
        f" select (select count(*) from gone) as _n, {cols} from batch order by {last} limit 1"
    )


async def delete_after(
    conn: asyncpg.Connection,
    table: str,
    tenant_id: UUID,
    key: list[str],
    after: list[object] | None,
    limit: int,
) -> tuple[int, list[object] | None]:
    """Delete the tenant's first `limit` rows of `table` in `key` order (see `tenant_key`)
    after the key values `after` (None: from the start): an index range that starts past the
    rows already deleted, so a batch never reads their dead versions again. How many, and the
    last key deleted (None if none). `table` and `key` come from the catalogue, never input."""
    if not key:
        count = await execute_count(conn, f'delete from "{table}" where tenant_id = $1', tenant_id)
        return count, None
    await conn.execute("; ".join(f"set local {setting} = off" for setting in BATCH_PLAN))
    row = await conn.fetchrow(batch_after_sql(table, key, after, limit), tenant_id, *(after or ()))
    await conn.execute("; ".join(f"reset {setting}" for setting in BATCH_PLAN))
    if row is None:
        return 0, None
    return int(row["_n"]), [row[c] for c in key]


async def mark_purging(conn: asyncpg.Connection, request_id: UUID) -> None:
    """A scheduled request starts purging (its first start time is kept across restarts)."""
    await conn.execute(
        "update deletion_requests set status = 'purging', "
        "started_at = coalesce(started_at, now()) where id = $1 and status = 'scheduled'",
        request_id,
    )


async def token_emails(conn: asyncpg.Connection, user_id: UUID) -> list[str]:
    """The addresses (lower-cased) that mailed tokens of the user went to."""
    return await fetch_values(
        conn,
        str,
        "select distinct lower(email) as email from email_tokens where user_id = $1",
        user_id,
    )


# ---- self-service deletion ---------------------------------------------------------------


async def due_deletions(conn: asyncpg.Connection, now: datetime) -> list[UUID]:
    """Requests due by `now`, oldest first; an account's waits for the workspaces deleted
    with it."""
    return await fetch_values(
        conn,
        UUID,
        "select r.id from deletion_requests r where r.status in ('scheduled', 'purging')"
        " and r.due_at <= $1 and not exists (select 1 from deletion_requests w"
        " where w.with_account = r.id and w.status in ('scheduled', 'purging'))"
        " order by r.due_at",
        now,
    )


# ---- what the privacy domain holds -------------------------------------------------------


async def forget_consents_of(conn: asyncpg.Connection, user_id: UUID | None) -> int:
    """Delete the person's consent entries and those of the browsers they gave them from (the
    ledger is append-only for the app: a narrow SECURITY DEFINER function does it); how many."""
    return await fetch_value(conn, int, "select odex_private.forget_consents($1)", user_id)


async def delete_usage_of(conn: asyncpg.Connection, user_id: UUID | None, limit: int) -> int:
    """Delete up to `limit` of the user's usage events (a batch); how many."""
    return await execute_count(
        conn,
        "delete from usage_events where ctid = any(array(select ctid from usage_events"
        f" where user_id = $1 limit {int(limit)}))",
        user_id,
    )


async def erase_contact_paths(conn: asyncpg.Connection, contact_id: UUID) -> int:
    """Page views of a contact's record keep their count, not the record's id; how many."""
    return await execute_count(
        conn,
        "update usage_events set path = regexp_replace(path, $1, '/contacts/(erased)')"
        " where path like $2",
        f"/contacts/{contact_id}",
        f"/contacts/{contact_id}%",
    )


# ---- the deletion report's generic table scan ---------------------------------------------


def _naming(place: Place, subject: Subject, start: int) -> tuple[str, list[object]]:
    """The condition that finds the subject in a table (``false`` if it can't be there)."""
    clauses: list[str] = []
    args: list[object] = []
    if subject.user_id is not None and place.user_columns:
        args.append(subject.user_id)
        n = start + len(args) - 1
        clauses += [f'"{c}" = ${n}::uuid' for c in place.user_columns]
    if subject.workspace_id is not None and place.workspace_columns:
        args.append(subject.workspace_id)
        n = start + len(args) - 1
        clauses += [f'"{c}" = ${n}::uuid' for c in place.workspace_columns]
    if place.text_columns and subject.needles:
        args.append(like_any(subject.needles))
        n = start + len(args) - 1
        clauses += [f'"{c}"::text ilike any(${n}::text[])' for c in place.text_columns]
    return (" or ".join(clauses) or "false"), args


def can_name(place: Place, subject: Subject) -> bool:
    """Whether a row of the place's table could name the subject at all (by the columns the
    data map lists for it)."""
    return _naming(place, subject, 1)[0] != "false"


async def count_rows(conn: asyncpg.Connection, table: str) -> int:
    """Rows of a data-map table that the transaction sees (`table` from the map, never input)."""
    return int(await conn.fetchval(f'select count(*) from "{table}"'))


async def count_naming(conn: asyncpg.Connection, place: Place, subject: Subject) -> int:
    """Rows of the place's table naming the subject: its id in a user or workspace column, its
    id or an address in a text column."""
    where, args = _naming(place, subject, 1)
    return int(await conn.fetchval(f'select count(*) from "{place.table}" where {where}', *args))


# ---- usage events ------------------------------------------------------------------------

_EVENT_COLUMNS = (
    "id, category, kind, path, feature, browser, os, device, ip, analytics_id, created_at"
)
_EVENTS_UNNEST = (
    "unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "$7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])"
)


async def insert_usage_events(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    user_ids: list[UUID | None],
    columns: list[list[object]],
) -> None:
    """A batch of one workspace's events (`columns`: the arrays of _EVENT_COLUMNS, `user_ids`
    beside them); events of a deleted user or workspace, or already stored, are dropped."""
    await conn.execute(
        f"insert into usage_events (tenant_id, user_id, {_EVENT_COLUMNS}) "
        f"select $12, u.user_id, {_EVENT_COLUMNS} from {_EVENTS_UNNEST} "
        "with ordinality as e(id, category, kind, path, feature, browser, os, device, ip, "
        "analytics_id, created_at, n) "
        "join unnest($13::uuid[]) with ordinality as u(user_id, n) using (n) "
        "where exists (select 1 from tenants t where t.id = $12) "
        "and (u.user_id is null or exists (select 1 from users x where x.id = u.user_id)) "
        "on conflict (id) do nothing",
        *columns,
        tenant_id,
        user_ids,
    )


async def insert_visitor_events(conn: asyncpg.Connection, columns: list[list[object]]) -> None:
    """A batch of visitors' events (those already stored are dropped)."""
    await conn.execute(
        f"insert into visitor_events ({_EVENT_COLUMNS}) select * from {_EVENTS_UNNEST} "
        "on conflict (id) do nothing",
        *columns,
    )


async def delete_older(conn: asyncpg.Connection, table: str, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` rows of an events table created before `cutoff`; how many."""
    return await execute_count(
        conn,
        f"delete from {table} where ctid in (select ctid from {table}"
        " where created_at < $1 limit $2)",
        cutoff,
        limit,
    )


class Tally(msgspec.Struct, frozen=True):
    """How many events had one label (a page, a feature, a browser…)."""

    label: str
    n: int


class UsageBreakdown(msgspec.Struct, frozen=True):
    """The usage dashboard's figures of one workspace since a time."""

    active: list[tuple[date, int]]  # (day, distinct users)
    pages: list[Tally]
    features: list[Tally]
    browsers: list[Tally]
    devices: list[Tally]
    security: list[Tally]


async def _tallies(conn: asyncpg.Connection, sql: str, since: datetime) -> list[Tally]:
    return await fetch_as(conn, Tally, sql, since)


async def usage_breakdown(conn: asyncpg.Connection, since: datetime) -> UsageBreakdown:
    """Active users per day, the top pages and features, browsers, devices, security events."""
    active = await conn.fetch(
        "select (created_at at time zone 'UTC')::date as day, count(distinct user_id) as n "
        "from usage_events where created_at >= $1 and user_id is not null "
        "group by day order by day",
        since,
    )
    return UsageBreakdown(
        active=[(r["day"], int(r["n"])) for r in active],
        pages=await _tallies(
            conn,
            "select path as label, count(*) as n from usage_events where created_at >= $1 "
            "and kind = 'page' group by path order by n desc, path limit 10",
            since,
        ),
        features=await _tallies(
            conn,
            "select feature as label, count(*) as n from usage_events where created_at >= $1 "
            "and kind = 'feature' group by feature order by n desc, feature limit 10",
            since,
        ),
        browsers=await _tallies(
            conn,
            "select browser as label, count(*) as n from usage_events where created_at >= $1 "
            "and category = 'analytics' group by browser order by n desc limit 8",
            since,
        ),
        devices=await _tallies(
            conn,
            "select device as label, count(*) as n from usage_events where created_at >= $1 "
            "and category = 'analytics' group by device order by n desc limit 8",
            since,
        ),
        security=await _tallies(
            conn,
            "select kind as label, count(*) as n from usage_events where created_at >= $1 "
            "and category = 'security' group by kind order by n desc",
            since,
        ),
    )
