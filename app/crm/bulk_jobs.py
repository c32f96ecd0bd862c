"""Large bulk changes as a background job: the selection is frozen into `bulk_items` when the
person confirms (records created later are not touched), and an arq job under a lease
(app/core/lease.py) works through it in committed batches of BATCH records, each record through
its kind's single-edit steps (app/crm/bulk_kinds.py). Each batch commits its records' changes,
their items' state and the change's count done together, so a worker that dies mid-way is
taken over by another that goes on from the next record still to do: none is changed twice.
Cancelling stops it before the next batch; the undo of a job is a job too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from arq.worker import func
from piccolo.querystring import QueryString

from app.accounts.schemas import Current
from app.accounts.services import load_current
from app.core.db import tenant_transaction
from app.core.domain import ArqJob
from app.core.errors import FormInvalid, RecordNotFound
from app.core.lease import fence, leased, schedule
from app.crm import bulk_queries
from app.crm.bulk import (
    MAX_IN_JOB,
    TOO_BIG,
    Selection,
    describe,
    lock_change,
    lock_for_undo,
    record_change,
    summary,
)
from app.crm.bulk_kinds import (
    BulkParams,
    KindSteps,
    Previous,
    steps_of,
    stored_params,
    view_selection,
)
from app.crm.tables import BulkChange

BULK_JOB = "run_bulk_change"
BATCH = 500
JOB_TIMEOUT = 3600  # 100,000 records at a few thousand a minute; a stopped job resumes


async def start_job(current: Current, selection: Selection) -> UUID:
    """Freeze the view's records now and queue the job that changes them; the change's id
    (its progress page is /bulk/<id>)."""
    steps = steps_of(selection.kind)
    change_id = uuid.uuid4()
    params = msgspec.structs.replace(selection.params, job=True)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        asking = describe(selection.kind, params, selection.total, asking=True)[:-1] + "…"
        await record_change(current, change_id, selection.kind, params, asking, status="queued")
        from_sql, id_col, where, sql_params = await view_selection(
            conn, steps, current.tenant_id, selection.form.view_query
        )
        total = await bulk_queries.freeze_view(
            conn, current.tenant_id, change_id, from_sql, id_col, where, sql_params
        )
        if total > MAX_IN_JOB:
            raise FormInvalid({"form": TOO_BIG})
        if not total:
            raise FormInvalid({"form": f"None of the chosen {selection.kind} are there any more."})
        await BulkChange.update({BulkChange.total: total}).where(BulkChange.id == change_id)
        await schedule(BULK_JOB, str(current.tenant_id), str(change_id))
    return change_id


async def start_undo(current: Current, change_id: UUID) -> UUID:
    """Undo a job's change with a job (on the records not edited since); the undo's id."""
    undo_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await lock_for_undo(current, change_id)
        kind = str(row["kind"])
        total = 0
        await record_change(
            current,
            undo_id,
            kind,
            BulkParams(action="undo", job=True),
            f"Undoing: {row['summary']}"[:500],
            status="queued",
            undo_of=change_id,
        )
        total = await bulk_queries.freeze_changed(conn, current.tenant_id, undo_id, change_id)
        await BulkChange.update({BulkChange.total: total}).where(BulkChange.id == undo_id)
        await BulkChange.update({BulkChange.undone_at: datetime.now(UTC)}).where(
            BulkChange.id == change_id
        )
        await schedule(BULK_JOB, str(current.tenant_id), str(undo_id))
    return undo_id


async def cancel(current: Current, change_id: UUID) -> bool:
    """Stop a running job before its next batch (what is done stays done, and can be undone);
    False when it had already ended."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        refusal = "Only the member who started this change, or an admin, can cancel it."
        row = await lock_change(current, change_id, refusal)
        if row["status"] not in ("queued", "running"):
            return False
        # a batch in progress holds this row: its records are counted here
        text = await _final_summary(conn, current.tenant_id, row, "cancelled")
        await BulkChange.update(
            {
                BulkChange.status: "cancelled",
                BulkChange.finished_at: datetime.now(UTC),
                BulkChange.summary: text,
            }
        ).where(BulkChange.id == change_id)
    return True


async def _end(tenant: UUID, change_id: UUID, status: str, text: str, error: str = "") -> None:
    async with tenant_transaction(tenant) as conn:
        await fence(conn)  # a worker that lost its lease leaves the ending to the new holder
        await BulkChange.update(
            {
                BulkChange.status: status,
                BulkChange.summary: text[:500],
                BulkChange.error: error[:500] or None,
                BulkChange.finished_at: QueryString("coalesce(finished_at, now())"),
            }
        ).where(BulkChange.id == change_id)


async def _batch(
    current: Current,
    cid: UUID,
    steps: KindSteps,
    params: BulkParams,
    origin: Mapping[str, Any] | None,
) -> int:
    """One committed batch: the next records to do, changed (or, for an undo, restored), their
    items marked and the count done raised, all in one transaction; how many (0: none left,
    or the change was cancelled)."""
    tenant = current.tenant_id
    async with tenant_transaction(tenant, current.user_id) as conn:
        # the change's row, held until commit: a cancel waits for the batch and counts it
        state = await conn.fetchval(
            "select status from bulk_changes where id = $1 for no key update", cid
        )
        if state != "running":
            return 0  # cancelled (or ended by another run)
        ids = await bulk_queries.next_batch(conn, tenant, cid, BATCH)
        if not ids:
            return 0
        if origin is not None:  # an undo: put back what the original change changed
            previous = await bulk_queries.previous_of(conn, tenant, origin["id"], ids)
            restored = await steps.restore(current, conn, str(origin["action"]), previous)
            back = [Previous(record_id, 0, None) for record_id in restored]
            await bulk_queries.mark_batch(conn, tenant, cid, ids, back)
        else:
            outcome = await steps.apply(current, conn, params, ids)
            await bulk_queries.mark_batch(conn, tenant, cid, ids, outcome.changed)
        await BulkChange.update({BulkChange.done: BulkChange.done + len(ids)}).where(
            BulkChange.id == cid
        )
        steps.push(tenant)
    return len(ids)


@leased(BULK_JOB, skipped=0, timeout=lambda: float(JOB_TIMEOUT))
async def run_bulk_change(
    ctx: dict[str, object], tenant_id: str, change_id: str, stop_after_batches: int | None = None
) -> int:
    """Work through a bulk change's frozen selection in batches; how many records this run
    handled. `stop_after_batches` exists for the tests of resumption (a worker dying)."""
    tenant, cid = UUID(tenant_id), UUID(change_id)
    async with tenant_transaction(tenant):
        row = await BulkChange.select().where(BulkChange.id == cid).first()
        origin = None
        if row is not None and row["undo_of"] is not None:
            origin = await BulkChange.select().where(BulkChange.id == row["undo_of"]).first()
    if row is None or row["status"] not in ("queued", "running"):
        return 0
    steps = steps_of(str(row["kind"]))
    params = stored_params(row)
    current = await load_current(row["user_id"], tenant) if row["user_id"] else None
    if current is None or (row["undo_of"] is not None and origin is None):
        why = "The member who started this change is no longer in the workspace."
        await _end(tenant, cid, "failed", str(row["summary"]), why)
        return 0
    async with tenant_transaction(tenant):
        await BulkChange.update({BulkChange.status: "running"}).where(
            (BulkChange.id == cid) & (BulkChange.status == "queued")
        )
    handled = batches = 0
    failure = ""
    while True:
        try:
            count = await _batch(current, cid, steps, params, origin)
        except (FormInvalid, RecordNotFound) as exc:  # e.g. the new owner left meanwhile
            failure = _why(exc)
            break
        if not count:
            break
        handled += count
        batches += 1
        if stop_after_batches is not None and batches >= stop_after_batches:
            return handled
    async with tenant_transaction(tenant) as conn:
        status_row = await BulkChange.select().where(BulkChange.id == cid).first()
        assert status_row is not None
        status = "cancelled" if status_row["status"] == "cancelled" else "done"
        status = "failed" if failure else status
        text = await _final_summary(conn, tenant, status_row, status)
    await _end(tenant, cid, status, text, failure)
    return handled


def _why(exc: FormInvalid | RecordNotFound) -> str:
    if isinstance(exc, FormInvalid):
        return "Stopped: " + " ".join(exc.errors.values())
    return "Stopped: a record it needed is gone. What was done so far stays (and can be undone)."


async def _final_summary(
    conn: asyncpg.Connection, tenant: UUID, row: Mapping[str, Any], status: str
) -> str:
    """What the change did, counted from its items: "Tagged 1,200 contacts “vip”.", "Undone
    on 1,199 contacts (1 edited since …).", "Cancelled after 500 of 1,100. Assigned …"."""
    changed = await bulk_queries.changed_count(conn, tenant, row["id"])
    kind, done = str(row["kind"]), int(row["done"])
    params = stored_params(row)
    if row["undo_of"] is not None:
        text = f"Undone on {changed:,} {kind}"
        if done - changed:
            text += f" ({done - changed:,} edited since, or gone, were left as they are)"
        text += "."
    else:
        kept = done - changed if params.action == "delete" else 0
        text = summary(kind, params, changed, kept)
    if status == "cancelled":
        text = f"Cancelled after {done:,} of {int(row['total']):,}. {text}"
    return text[:500]


BULK_FUNCTIONS: list[ArqJob] = [func(run_bulk_change, name=BULK_JOB, timeout=JOB_TIMEOUT)]
