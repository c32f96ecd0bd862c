"""The operations' SQL that Piccolo cannot say well, as named typed functions: row locks,
inserts on the database's clock, and the catalogue reads of a server (ours or a restore
target). Ordinary reads and writes go through the Piccolo tables (app/ops/tables.py)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

USER_RELATIONS = """
select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname not in ('pg_catalog', 'information_schema')
   and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
"""


async def server_version_num(conn: asyncpg.Connection) -> int:
    """The server's version as a number (170002 for 17.2)."""
    return int(await conn.fetchval("select current_setting('server_version_num')::int"))


async def user_relation_count(conn: asyncpg.Connection) -> int:
    """Relations outside the system schemas (0 in an empty database)."""
    return int(await conn.fetchval(USER_RELATIONS))


async def user_table_count(conn: asyncpg.Connection) -> int:
    """Tables outside the system schemas (what a restore brought back)."""
    return int(
        await conn.fetchval(
            "select count(*) from pg_tables where schemaname not in "
            "('pg_catalog', 'information_schema')"
        )
    )


async def insert_operator_alert(
    conn: asyncpg.Connection, alert_id: UUID, kind: str, summary: str, details: str
) -> None:
    """Store an operator alert (created_at from the database's clock)."""
    await conn.execute(
        "insert into operator_alerts (id, kind, summary, details) values ($1, $2, $3, $4)",
        alert_id,
        kind,
        summary,
        details,
    )


async def lock_operator_alert(
    conn: asyncpg.Connection, alert_id: UUID
) -> tuple[bool, datetime | None]:
    """Lock an alert: (found, when it was acknowledged)."""
    row = await conn.fetchrow(
        "select acknowledged_at from operator_alerts where id = $1 for update", alert_id
    )
    return (False, None) if row is None else (True, row["acknowledged_at"])
