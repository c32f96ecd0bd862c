"""The purge of a due deletion request: every tenant table in batches, resumable.

A workspace purge finds every tenant table in the catalogue (each table with a `tenant_id`
column), deletes its rows in committed batches (children before parents, so restrictive foreign
keys never block), then the tenant row (which cascades the append-only tables the app role may
not delete from), the users who belonged nowhere else, their sessions, and the Stripe customer.
Each batch commits with its progress, so a worker killed mid-purge simply continues on the next
run. What stays is the minimal deletion record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.core.db import global_transaction, tenant_transaction, user_transaction
from app.jobs.lease import fence, leased
from app.notifications.services import queue_mail
from app.privacy import hooks
from app.privacy.export import export_dir
from app.privacy.tables import DeletionRequest
from app.security import sessions
from app.settings import get_settings
from app.support.services import forget_requester

log = logging.getLogger("odex.privacy")

PURGE_JOB = "purge_deletion"
PURGE_BATCH = 1000
# A pause between batches keeps the purge from crowding out other tenants' queries (P5).
PURGE_PAUSE_SECONDS = 0.01
OPEN = ("scheduled", "purging")
# The tenant row goes last, by itself: deleting it cascades what is left.
LAST_TABLES = {"tenants"}


class PurgeInterrupted(RuntimeError):
    """Raised by tests (stop_after) to simulate a worker dying mid-purge."""


async def tenant_tables(conn: asyncpg.Connection) -> list[str]:
    """Every table with a tenant_id column, children before parents (foreign keys)."""
    rows = await conn.fetch(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' "
        "and not a.attisdropped where n.nspname = 'public' and c.relkind in ('r', 'p') "
        "and has_table_privilege(c.oid, 'DELETE') order by c.relname"
    )
    names = [r["relname"] for r in rows if r["relname"] not in LAST_TABLES]
    edges = await conn.fetch(
        "select src.relname as child, dst.relname as parent from pg_constraint k "
        "join pg_class src on src.oid = k.conrelid join pg_class dst on dst.oid = k.confrelid "
        "where k.contype = 'f' and k.conrelid <> k.confrelid"
    )
    parents: dict[str, set[str]] = {name: set() for name in names}
    children: dict[str, set[str]] = {name: set() for name in names}
    for edge in edges:
        if edge["child"] in parents and edge["parent"] in parents:
            parents[edge["child"]].add(edge["parent"])
            children[edge["parent"]].add(edge["child"])
    ordered: list[str] = []
    remaining = set(names)
    while remaining:  # a table goes once all tables pointing at it are gone
        ready = sorted(t for t in remaining if not (children[t] & remaining))
        if not ready:  # a cycle: order does not matter any more, foreign keys decide
            ready = sorted(remaining)
        ordered += ready
        remaining -= set(ready)
    return ordered


async def _load(request_id: UUID) -> dict[str, Any] | None:
    async with global_transaction():
        row = await DeletionRequest.select().where(DeletionRequest.id == request_id).first()
    if row is not None and isinstance(row["progress"], str):
        row["progress"] = json.loads(row["progress"])
    return row


async def _save_progress(
    conn: asyncpg.Connection, request_id: UUID, progress: dict[str, Any], rows: int = 0
) -> None:
    await conn.execute(
        "update deletion_requests set progress = $2::jsonb, rows_deleted = rows_deleted + $3 "
        "where id = $1",
        request_id,
        json.dumps(progress),
        rows,
    )


async def _delete_batches(
    tenant_id: UUID,
    request_id: UUID,
    table: str,
    progress: dict[str, Any],
    where: str = "true",
    args: tuple[Any, ...] = (),
    stop: list[int] | None = None,
) -> bool:
    """Delete a table's rows of the tenant batch by batch; False if a foreign key blocked it."""
    counts = progress.setdefault("tables", {})
    while True:
        try:
            async with tenant_transaction(tenant_id) as conn:
                status = await conn.execute(
                    f'delete from "{table}" where ctid = any(array(select ctid from "{table}" '
                    f"where {where} limit {PURGE_BATCH}))",
                    *args,
                )
                count = int(status.split()[-1])
                counts[table] = counts.get(table, 0) + count
                await _save_progress(conn, request_id, progress, count)
        except asyncpg.ForeignKeyViolationError:
            return False
        if stop is not None:
            stop[0] -= 1
            if stop[0] <= 0:
                raise PurgeInterrupted(table)
        if count < PURGE_BATCH:
            return True
        await asyncio.sleep(PURGE_PAUSE_SECONDS)


async def _remove_user(user_id: UUID) -> None:
    """Delete a login identity (cascades its tokens, MFA, feed) and end all its sessions."""
    async with global_transaction() as conn:
        email = await conn.fetchval("select email from users where id = $1", user_id)
        await conn.execute("delete from users where id = $1", user_id)
        if email:  # delivered service mail to the address goes too; unsent mail still goes out
            await conn.execute(
                "delete from outbox where lower(to_addr) = lower($1)"
                " and (sent_at is not null or failed_at is not null)",
                email,
            )
    if email:  # their support tickets and threads (global tables) go with the account
        await forget_requester(user_id, email)
    await sessions.destroy_user_sessions(str(user_id))


async def _finish(request: dict[str, Any], progress: dict[str, Any]) -> None:
    async with global_transaction() as conn:
        await fence(conn)  # only the lease holder announces the deletion (once)
        if request["notify_email"]:
            await queue_mail(
                "deletion",
                request["notify_email"],
                f"Your {request['scope']} has been deleted",
                "privacy_deletion_done.txt",
                scope=request["scope"],
                contact=get_settings().privacy_contact,
            )
        minimal = {"tables": progress.get("tables", {}), "billing": progress.get("billing")}
        await conn.execute(
            "update deletion_requests set status = 'completed', completed_at = now(), "
            "notify_email = null, progress = $2::jsonb where id = $1",
            request["id"],
            json.dumps(minimal),
        )


@leased(PURGE_JOB, repeatable=True, skipped="skipped")
async def purge_deletion(
    ctx: dict[str, Any] | None, request_id: str, *, stop_after: int | None = None
) -> str:
    """arq job: carry out a due deletion request (resumable; a finished one is skipped; under a
    lease, so a dead worker's purge is taken over within a minute)."""
    rid = UUID(request_id)
    request = await _load(rid)
    if request is None or request["status"] not in OPEN or request["due_at"] > datetime.now(UTC):
        return "skipped"
    async with global_transaction() as conn:
        await conn.execute(
            "update deletion_requests set status = 'purging', "
            "started_at = coalesce(started_at, now()) where id = $1 and status = 'scheduled'",
            rid,
        )
    stop = [stop_after] if stop_after else None
    if request["scope"] == "workspace":
        await _purge_workspace(request, stop)
    else:
        await _purge_account(request, stop)
    return "completed"


async def _purge_workspace(request: dict[str, Any], stop: list[int] | None) -> None:
    tenant_id = UUID(str(request["workspace_id"]))
    rid = UUID(str(request["id"]))
    progress: dict[str, Any] = dict(request["progress"] or {})
    if "members" not in progress:  # read once: memberships are purged with everything else
        async with tenant_transaction(tenant_id) as conn:
            members = await conn.fetch("select user_id from memberships")
            progress["members"] = [str(m["user_id"]) for m in members]
            await conn.execute("update tenants set status = 'deleting' where id = $1", tenant_id)
            await _save_progress(conn, rid, progress)
    if not progress.get("billing"):
        done = await hooks.cancel_billing(tenant_id)
        progress["billing"] = "cancelled" if done else "none"
        async with global_transaction() as conn:
            await _save_progress(conn, rid, progress)
    async with tenant_transaction(tenant_id) as conn:
        tables = await tenant_tables(conn)
    pending = list(tables)
    while pending:  # a restrictive foreign key can block a table until its referrers are gone
        blocked = [
            t for t in pending if not await _delete_batches(tenant_id, rid, t, progress, stop=stop)
        ]
        if len(blocked) == len(pending):
            raise RuntimeError(f"purge blocked by foreign keys on {blocked}")
        pending = blocked
    async with tenant_transaction(tenant_id) as conn:  # cascades append-only tables (activities…)
        await conn.execute("delete from tenants where id = $1", tenant_id)
    for user in progress["members"]:
        user_id = UUID(user)
        async with user_transaction(user_id) as conn:
            elsewhere = await conn.fetchval(
                "select count(*) from memberships where user_id = $1", user_id
            )
        if not elsewhere:
            await _remove_user(user_id)
    shutil.rmtree(export_dir() / str(tenant_id), ignore_errors=True)
    await _finish(request, progress)


async def _purge_account(request: dict[str, Any], stop: list[int] | None) -> None:
    user_id = UUID(str(request["subject_user_id"]))
    rid = UUID(str(request["id"]))
    progress: dict[str, Any] = dict(request["progress"] or {})
    async with user_transaction(user_id) as conn:
        tenants = [
            r["tenant_id"]
            for r in await conn.fetch(
                "select tenant_id from memberships where user_id = $1", user_id
            )
        ]
    for tenant_id in tenants:
        async with tenant_transaction(tenant_id) as conn:
            exports = await conn.fetch("select id from exports where user_id = $1", user_id)
        for export in exports:
            (export_dir() / str(tenant_id) / f"{export['id']}.zip").unlink(missing_ok=True)
        for table in ("usage_events", "exports"):
            await _delete_batches(tenant_id, rid, table, progress, "user_id = $1", (user_id,), stop)
        async with tenant_transaction(tenant_id) as conn:
            await conn.execute("delete from memberships where user_id = $1", user_id)
    await _remove_user(user_id)
    await _finish(request, progress)
