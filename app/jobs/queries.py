"""The job leases' SQL that Piccolo cannot say well, as named typed functions: finding the
runs whose JSON arguments name a workspace. Ordinary reads and writes go through the Piccolo
table (app/jobs/tables.py)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from app.core.rows import execute_count

# a lease's arguments are the job's ids as JSON strings: ["<workspace id>", "<export id>"]
_NAMING = "from job_runs where args @> jsonb_build_array($1::text)"


async def delete_runs_naming(conn: asyncpg.Connection, workspace_id: UUID) -> int:
    """Delete every lease (finished or not) whose arguments name the workspace; how many."""
    return await execute_count(conn, "delete " + _NAMING, str(workspace_id))


async def count_runs_naming(conn: asyncpg.Connection, workspace_id: UUID) -> int:
    """How many leases name the workspace."""
    return int(await conn.fetchval("select count(*) " + _NAMING, str(workspace_id)))
