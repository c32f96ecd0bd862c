"""The purge of a due deletion request, driven by the data map, resumable, then checked.

A workspace purge runs the ``purge`` handler of every place on the data map (the Stripe
subscription is cancelled first; uploaded and exported files, Redis keys and global rows that
name the workspace go), deletes the rows of every tenant table on the map in committed batches
(children before parents, so restrictive foreign keys never block), then the tenant row (which
cascades the append-only tables the app role may not delete from); members who belonged nowhere
else are then deleted as in an account deletion. An account deletion runs the ``forget_user``
handler of every place. Each step commits its progress, so a worker killed mid-purge simply
continues on the next run. Last, the deletion report scans every place for what is left
(app/privacy/report.py) and only the minimal deletion record stays.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any, TypedDict
from uuid import UUID

import asyncpg
import msgspec
from piccolo.querystring import QueryString

from app.accounts.tables import Membership, Tenant, User
from app.core import datamap
from app.core.datamap import Subject
from app.core.db import global_transaction, tenant_transaction, user_transaction
from app.core.lease import fence, leased
from app.core.mail import OutboxMessage, queue_mail
from app.core.redis import queue
from app.core.rows import row_as
from app.notifications.jobs import deliver_outbox
from app.privacy import report
from app.privacy.queries import (
    deletable_tables,
    delete_after,
    delete_some,
    foreign_key_edges,
    mark_purging,
    tenant_key,
    token_emails,
)
from app.privacy.tables import DeletionRequest
from app.settings import get_settings

log = logging.getLogger("odex.privacy")

PURGE_JOB = "purge_deletion"
PURGE_BATCH = 500
# The purge keeps to a share of the database's time: after each batch it pauses PURGE_PAUSE_RATIO
# times the batch's own time, so a workspace purge runs ~1/25 of the time (~1,000 contacts a
# second on 2 cores: 1M contacts in ~17 minutes, a job nobody waits for). Priority did not do it
# on a 2-core machine: the kernel there groups processes by session (autogroup) and weighs the
# groups equally, so the purge's backend at nice 19 still gave P5 2.4x (1.73x with autogroup
# off); running less often does: P5 gave 1.74-2.53x at 1,000 rows and 0.75, 1.50x at 9,
# 1.29-1.50x at 500 rows and 15 (1.46-1.48x over 16 windows), 1.20-1.26x at 24 (README
# "Benchmarks"). The pause is capped: one batch slowed by a lock or a stopped worker does not
# stop the purge for minutes. A 1M-contact purge fits the job's 4-hour timeout many times over,
# and a purge cut short continues where it stopped on the job's next try.
PURGE_PAUSE_RATIO = 24.0
PURGE_PAUSE_MIN_SECONDS = 0.005
PURGE_PAUSE_MAX_SECONDS = 1.0
OPEN = ("scheduled", "purging")
# The tenant row goes last, by itself: deleting it cascades what is left. search_grams is
# emptied by the triggers of the records it indexes (contacts, companies, deals) as they go,
# and cascades with the tenant; deleting it first would spend the batches on an index.
LAST_TABLES = {"tenants", "search_grams"}


class PurgeInterrupted(RuntimeError):
    """Raised by tests (stop_after) to simulate a worker dying mid-purge."""


async def tenant_tables(conn: asyncpg.Connection) -> list[str]:
    """The data map's tenant tables the app may delete from, children before parents."""
    mapped = [p.table for p in datamap.places() if p.tenant_scoped and p.table]
    names = sorted(t for t in await deletable_tables(conn, mapped) if t not in LAST_TABLES)
    children: dict[str, set[str]] = {name: set() for name in names}
    for child, parent in await foreign_key_edges(conn):
        if child in children and parent in children:
            children[parent].add(child)
    ordered: list[str] = []
    remaining = set(names)
    while remaining:  # a table goes once all tables pointing at it are gone
        ready = sorted(t for t in remaining if not (children[t] & remaining))
        if not ready:  # a cycle: order does not matter any more, foreign keys decide
            ready = sorted(remaining)
        ordered += ready
        remaining -= set(ready)
    return ordered


class SubjectJSON(TypedDict):
    """A Subject as the purge's progress record keeps it."""

    user_id: str | None
    emails: list[str]
    names: list[str]
    tenants: list[str]


def subject_to_json(subject: Subject) -> SubjectJSON:
    return {
        "user_id": str(subject.user_id) if subject.user_id else None,
        "emails": list(subject.emails),
        "names": list(subject.names),
        "tenants": [str(t) for t in subject.tenant_ids],
    }


def subject_from_json(data: SubjectJSON) -> Subject:
    return Subject(
        user_id=UUID(data["user_id"]) if data.get("user_id") else None,
        emails=tuple(data.get("emails", [])),
        names=tuple(data.get("names", [])),
        tenant_ids=tuple(UUID(t) for t in data.get("tenants", [])),
    )


async def person(user_id: UUID, extra_emails: tuple[str, ...] = ()) -> Subject:
    """Everything that identifies a user in the data: id, addresses (the current one, those
    mailed tokens, those given at the request), name, and the workspaces they belong to."""
    async with global_transaction() as conn:
        user = await User.select(User.email, User.name).where(User.id == user_id).first()
        tokens = await token_emails(conn, user_id)
    async with user_transaction(user_id):
        tenants = await Membership.select(Membership.tenant_id).where(Membership.user_id == user_id)
    emails = {e.lower() for e in extra_emails if e}
    emails |= set(tokens)
    if user:
        emails.add(str(user["email"]).lower())
    return Subject(
        user_id=user_id,
        emails=tuple(sorted(emails)),
        names=(str(user["name"]),) if user else (),
        tenant_ids=tuple(r["tenant_id"] for r in tenants),
    )


Progress = dict[str, Any]  # the purge's JSON progress record (counts, subjects, handlers)


class PurgeRequest(msgspec.Struct, frozen=True):
    """What a purge reads of its deletion request."""

    id: UUID
    scope: str
    status: str
    due_at: datetime
    workspace_id: UUID | None
    subject_user_id: UUID | None
    notify_email: str | None
    with_account: UUID | None
    progress: Progress


async def _load(request_id: UUID) -> PurgeRequest | None:
    async with global_transaction():
        row = await DeletionRequest.select().where(DeletionRequest.id == request_id).first()
    if row is None:
        return None
    progress = row["progress"]
    parsed = (json.loads(progress) if isinstance(progress, str) else progress) or {}
    return row_as(PurgeRequest, {**row, "progress": parsed})


async def _save_progress(request_id: UUID, progress: Progress, rows: int = 0) -> None:
    """Record the purge's progress (inside the caller's transaction)."""
    await DeletionRequest.update(
        {
            DeletionRequest.progress: json.dumps(progress),
            DeletionRequest.rows_deleted: DeletionRequest.rows_deleted + rows,
        }
    ).where(DeletionRequest.id == request_id)


async def _save(request_id: UUID, progress: Progress, rows: int = 0) -> None:
    async with global_transaction():
        await _save_progress(request_id, progress, rows)


async def _delete_batches(
    tenant_id: UUID,
    request_id: UUID,
    table: str,
    progress: Progress,
    stop: list[int] | None = None,
) -> bool:
    """Delete a table's rows of the tenant batch by batch; False if a foreign key blocked it.

    By its tenant-leading unique key where it has one: each batch continues after the last
    key deleted, so it never reads the dead rows of the batches before (from the start each
    time, a batch got slower with every batch). When a pass reaches the end of the key it
    starts over once, for rows written meanwhile before its position. A restarted purge
    starts from the beginning (the rows are gone, only their dead versions are read once)."""
    counts = progress.setdefault("tables", {})
    async with tenant_transaction(tenant_id) as conn:
        key = await tenant_key(conn, table)
    after: list[object] | None = None
    while True:
        started = time.perf_counter()
        try:
            async with tenant_transaction(tenant_id) as conn:
                if key is None:
                    count, last = await delete_some(conn, table, PURGE_BATCH), None
                else:
                    count, last = await delete_after(
                        conn, table, tenant_id, key, after, PURGE_BATCH
                    )
                counts[table] = counts.get(table, 0) + count
                await _save_progress(request_id, progress, count)
        except asyncpg.ForeignKeyViolationError:
            return False
        took = time.perf_counter() - started
        if stop is not None:
            stop[0] -= 1
            if stop[0] <= 0:
                raise PurgeInterrupted(table)
        if count < PURGE_BATCH:
            if after is None or not key:  # a batch from the start found them all
                return True
            after = None  # the end of the key: once more from the start
        else:
            after = last
        await asyncio.sleep(pause_after(took))


def pause_after(took: float) -> float:
    """Seconds to pause after a batch that took `took` seconds (see PURGE_PAUSE_RATIO)."""
    return min(PURGE_PAUSE_MAX_SECONDS, PURGE_PAUSE_MIN_SECONDS + took * PURGE_PAUSE_RATIO)


async def forget_person(subject: Subject, request_id: UUID, progress: Progress, key: str) -> None:
    """Every place's ``forget_user`` handler for one person, each recorded once done."""
    done: dict[str, int] = progress.setdefault(key, {})
    for place in datamap.places():
        if place.forget_user is None or place.name in done:
            continue
        done[place.name] = await place.forget_user(subject)
        await _save(request_id, progress, done[place.name])


@leased(PURGE_JOB, repeatable=True, skipped="skipped")
async def purge_deletion(
    ctx: dict[str, object] | None, request_id: str, *, stop_after: int | None = None
) -> str:
    """arq job: carry out a due deletion request (resumable; a finished one is skipped; under a
    lease, so a dead worker's purge is taken over within a minute)."""
    rid = UUID(request_id)
    request = await _load(rid)
    if request is None or request.status not in OPEN or request.due_at > datetime.now(UTC):
        return "skipped"
    if request.scope == "account" and await linked_workspaces_open(rid):
        return "waiting"  # the workspaces deleted with the account go first
    async with global_transaction() as conn:
        await mark_purging(conn, rid)
    stop = [stop_after] if stop_after else None
    if request.scope == "workspace":
        subjects = await _purge_workspace(request, stop)
    else:
        subjects = await _purge_account(request)
    await _finish(request, subjects)
    return "completed"


async def linked_workspaces_open(request_id: UUID) -> bool:
    """Does an account's deletion still wait for a workspace chosen to go with it?"""
    async with global_transaction():
        return await DeletionRequest.exists().where(
            (DeletionRequest.with_account == request_id) & DeletionRequest.status.is_in(list(OPEN))
        )


async def _purge_workspace(request: PurgeRequest, stop: list[int] | None) -> list[Subject]:
    tenant_id = UUID(str(request.workspace_id))
    rid = request.id
    progress: Progress = dict(request.progress)
    if "members" not in progress:  # read once: memberships are purged with everything else
        async with tenant_transaction(tenant_id):
            members = [m["user_id"] for m in await Membership.select(Membership.user_id)]
            await Tenant.update({Tenant.status: "deleting"}).where(Tenant.id == tenant_id)
        progress["members"] = [subject_to_json(await person(m)) for m in members]
        await _save(rid, progress)
    handlers: dict[str, int] = progress.setdefault("handlers", {})
    for place in datamap.places():  # billing first (order), files, keys, global rows
        if place.purge is not None and place.name not in handlers:
            handlers[place.name] = await place.purge(tenant_id)
            await _save(rid, progress)
    async with tenant_transaction(tenant_id) as conn:
        tables = await tenant_tables(conn)
    pending = list(tables)
    while pending:  # a restrictive foreign key can block a table until its referrers are gone
        blocked = [
            t for t in pending if not await _delete_batches(tenant_id, rid, t, progress, stop)
        ]
        if len(blocked) == len(pending):
            raise RuntimeError(f"purge blocked by foreign keys on {blocked}")
        pending = blocked
    async with tenant_transaction(tenant_id):  # cascades append-only tables (activities…)
        await Tenant.delete().where(Tenant.id == tenant_id)
    removed: list[Subject] = []
    for index, data in enumerate(progress["members"]):
        member = subject_from_json(data)
        assert member.user_id is not None
        async with user_transaction(member.user_id):
            elsewhere = await Membership.count().where(Membership.user_id == member.user_id)
        if not elsewhere:
            await forget_person(member, rid, progress, f"member-{index}")
            removed.append(member)
    return [Subject(workspace_id=tenant_id), *removed]


async def _purge_account(request: PurgeRequest) -> list[Subject]:
    user_id = UUID(str(request.subject_user_id))
    rid = request.id
    progress: Progress = dict(request.progress)
    if "subject" not in progress:  # read once: the handlers delete what identifies them
        extra = (request.notify_email,) if request.notify_email else ()
        progress["subject"] = subject_to_json(await person(user_id, extra))
        await _save(rid, progress)
    subject = subject_from_json(progress["subject"])
    await forget_person(subject, rid, progress, "handlers")
    return [subject]


async def _final_mail(request: PurgeRequest) -> None:
    """Confirm to the address given at the request, then drop the mail from the outbox: the
    last copy of the address is the one the person receives."""
    if not request.notify_email:
        return
    async with global_transaction():
        message_id = await queue_mail(
            "deletion",
            request.notify_email,
            f"Your {request.scope} has been deleted",
            "privacy_deletion_done.txt",
            scope=request.scope,
            contact=get_settings().privacy_contact,
        )
    await deliver_outbox({}, message_id)
    async with global_transaction():
        await OutboxMessage.delete().where(
            (OutboxMessage.id == message_id) & OutboxMessage.sent_at.is_not_null()
        )


async def _finish(request: PurgeRequest, subjects: list[Subject]) -> None:
    async with global_transaction() as conn:
        await fence(conn)  # only the lease holder announces the deletion (once)
    await _final_mail(request)
    rid = request.id
    result = await report.scan(subjects)
    await report.record_report(rid, request.scope, result)
    current = await _load(rid)
    progress = dict(current.progress) if current else {}
    minimal = {  # counts only: the subject's addresses and workspaces are dropped
        "tables": progress.get("tables", {}),
        "handlers": progress.get("handlers", {}),
        "report": "clean" if result.clean else "data left behind",
    }
    async with global_transaction() as conn:
        await fence(conn)
        await DeletionRequest.update(
            {
                DeletionRequest.status: "completed",
                DeletionRequest.completed_at: QueryString("now()"),
                DeletionRequest.notify_email: None,
                DeletionRequest.progress: json.dumps(minimal),
            }
        ).where(DeletionRequest.id == rid)
    account = request.with_account
    if account is not None and not await linked_workspaces_open(account):
        # the account that waited for this workspace can go now
        await queue().enqueue_job(PURGE_JOB, str(account), _job_id=f"purge:{account}:{rid}")
