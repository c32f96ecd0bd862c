"""The CSV import job: checks rows, stores them in batches through the import's kind
(app/crm/import_kinds.py), records progress to resume.

The cells of a failed row kept for the error report are sealed (app/crm/secure.py).
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterator
from itertools import islice
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from arq.worker import func
from piccolo.querystring import QueryString

from app.billing.limits import usage_and_plan
from app.core.db import tenant_transaction
from app.core.domain import ArqJob
from app.core.errors import FormInvalid
from app.core.lease import fence, leased
from app.core.rows import NOW
from app.core.spreadsheet import unquote_cell
from app.crm import import_custom, import_queries
from app.crm.import_kinds import Batch, ImportKind
from app.crm.import_queries import SEP, FailedRow
from app.crm.imports import IMPORT_JOB, import_path, kinds, open_csv
from app.crm.secure import import_error_binding, seal_list
from app.crm.tables import CrmImport

BATCH = 1000


def _count_rows(tenant_id: UUID, data: dict[str, Any]) -> int:
    with open_csv(import_path(tenant_id, data["id"]), data["encoding"]) as handle:
        reader = csv.reader(handle, delimiter=data["delimiter"])
        next(reader, None)
        count = 0
        try:
            for _ in reader:
                count += 1
        except csv.Error:
            pass  # the import itself reports where the file breaks
        return count


def _values(row: list[str], mapping: dict[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for index, target in mapping.items():
        i = int(index)
        values[target] = unquote_cell(row[i]) if i < len(row) else ""
    return values


QUOTED_VALUE = re.compile(r"“[^”]*”")


def _reason(exc: FormInvalid) -> str:
    """The row's problems, without the values the messages quote (“bad@email”): the reason is
    stored in the clear, the row itself (shown beside it in the error report) is sealed."""
    return QUOTED_VALUE.sub("“…”", " ".join(exc.errors.values()))[:500]


def _validate(
    kind: ImportKind, width: int, rows: list[tuple[int, list[str]]], mapping: dict[str, str]
) -> Batch:
    batch = Batch()
    for number, row in rows:
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            batch.failed.append(
                (number, f"The row has {len(row)} fields but the header has {width}.", row)
            )
            continue
        try:
            data = kind.check_row(_values(row, mapping))
        except FormInvalid as exc:
            batch.failed.append((number, _reason(exc), row))
            continue
        batch.good.append(data)
        batch.good_rows.append((number, row))
    return batch


async def _insert_errors(
    c: asyncpg.Connection,
    tenant_id: UUID,
    import_id: UUID,
    failed: list[tuple[int, str, list[str]]],
) -> None:
    """Keep the failed rows for the error report, their cells sealed to each error's row."""
    rows: list[FailedRow] = []
    for number, reason, raw in failed:
        error_id = uuid.uuid4()
        cells = [cell.replace(SEP, " ")[:1000] for cell in raw]
        sealed = seal_list(cells, import_error_binding(tenant_id, error_id))
        rows.append(FailedRow(error_id, number, reason, sealed))
    await import_queries.insert_failed_rows(c, tenant_id, import_id, rows)


def _numbered_rows(reader: Iterator[list[str]], skip: int) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for data rows, row 1 being the first line after the header."""
    for number, row in enumerate(reader, start=1):
        if number > skip:
            yield number, row


@leased(IMPORT_JOB, skipped=0)
async def import_crm_csv(
    ctx: dict[str, object], tenant_id: str, import_id: str, stop_after_batches: int | None = None
) -> int:
    """Import an uploaded CSV in batches; each batch commits its rows, errors and progress together,
    so a re-run (after a crash or a kill) continues after the last committed row. It runs under a
    lease: a dead worker's import is taken over by another within a minute.

    At the plan's record limit the import stops (status failed, with the reason and the row to
    resume from after an upgrade) instead of writing an error row for every remaining row.

    Returns the number of rows processed by this run. `stop_after_batches` exists for tests of
    resumption.
    """
    tenant, job_id = UUID(tenant_id), UUID(import_id)
    async with tenant_transaction(tenant):
        row = await CrmImport.select().where(CrmImport.id == job_id).first()
        if row is None or row["status"] in ("done", "uploaded"):
            return 0
        data = row
    mapping: dict[str, str] = msgspec.json.decode(data["mapping"])
    kind = kinds().get(data["kind"])
    if kind is None:  # a kind no longer offered (its domain is gone): say so, stop
        async with tenant_transaction(tenant):
            await _fail_import(job_id, "This kind of import is no longer offered.")
        return 0
    user_id: UUID | None = data["user_id"]
    if not import_path(tenant, job_id).exists():  # erased or expired meanwhile: say so, stop
        await _fail_without_file(tenant, job_id)
        return 0
    if not data["total_rows"]:
        data["total_rows"] = _count_rows(tenant, data)
    async with tenant_transaction(tenant):
        await CrmImport.update(
            {
                CrmImport.status: "running",
                CrmImport.total_rows: data["total_rows"],
                CrmImport.updated_at: QueryString("now()"),
            }
        ).where(CrmImport.id == job_id)
    done = int(data["rows_done"])
    processed = batches = 0
    width = len(data["headers"])
    path = import_path(tenant, job_id)
    failure: str | None = None
    at_plan_limit = False  # resumable after an upgrade: the upload is kept for that
    with open_csv(path, data["encoding"]) as handle:
        reader = csv.reader(handle, delimiter=data["delimiter"])
        next(reader, None)
        rows = _numbered_rows(reader, done)
        while True:
            try:
                chunk = list(islice(rows, BATCH))
            except (csv.Error, UnicodeDecodeError) as exc:
                failure = f"The file stops being valid CSV after row {done}: {exc}."
                break
            if not chunk:
                break
            batch = _validate(kind, width, chunk, mapping)
            async with tenant_transaction(tenant, user_id) as c:
                # at-least-once delivery: if another run got further, this one stops here
                progress = (
                    await CrmImport.select(CrmImport.rows_done)
                    .where(CrmImport.id == job_id)
                    .lock_rows()
                    .first()
                )
                if progress is None or progress["rows_done"] != done:
                    return processed
                await import_custom.check_rows(tenant, data["kind"], batch, _reason)
                if kind.prepare is not None:  # rows of known records, links to others
                    await kind.prepare(c, tenant, user_id, batch, data["on_duplicate"])
                last_row = chunk[-1][0]
                if batch.good and kind.counts_records:
                    usage, plan = await usage_and_plan(tenant)
                    room = max(plan.record_limit - usage.records, 0)
                    if room < len(batch.good):  # stop here: no error row per remaining row
                        last_row = batch.stop_before(room)
                        at_plan_limit = True
                        failure = (
                            f"Stopped at row {last_row + 1:,}: the {plan.name} plan's limit of"
                            f" {plan.record_limit:,} contacts and companies is reached. Upgrade"
                            " in Settings → Billing, then resume the import."
                        )
                if batch.good:
                    await kind.store(c, tenant, user_id, batch)
                    await import_custom.store_values(c, data["kind"], batch.good)
                if batch.failed:
                    await _insert_errors(c, tenant, job_id, batch.failed)
                done = last_row
                await CrmImport.update(
                    {
                        CrmImport.rows_done: done,
                        CrmImport.rows_ok: CrmImport.rows_ok + len(batch.good),
                        CrmImport.rows_failed: CrmImport.rows_failed + len(batch.failed),
                        CrmImport.companies_created: (
                            CrmImport.companies_created + batch.companies_created
                        ),
                        CrmImport.updated_at: QueryString("now()"),
                    }
                ).where(CrmImport.id == job_id)
            processed += len(chunk)
            batches += 1
            if failure is not None:
                break
            if stop_after_batches is not None and batches >= stop_after_batches:
                return processed
    async with tenant_transaction(tenant) as c:
        await fence(c)  # a worker that lost its lease leaves the ending to the new holder
        await CrmImport.update(  # the total is at least the rows handled
            {
                CrmImport.status: "failed" if failure else "done",
                CrmImport.error: failure,
                CrmImport.total_rows: QueryString("greatest(total_rows, rows_done)"),
                CrmImport.updated_at: NOW,
            }
        ).where(CrmImport.id == job_id)
    # finished (a broken file fails the same way again): the upload's plaintext goes. Stopped
    # at the plan's limit, it stays for a resume after an upgrade (the retention sweep deletes
    # it after CRM_UPLOAD_KEEP_HOURS without one).
    if not at_plan_limit:
        import_path(tenant, job_id).unlink(missing_ok=True)
    return processed


async def _fail_without_file(tenant_id: UUID, import_id: UUID) -> None:
    async with tenant_transaction(tenant_id):
        await _fail_import(
            import_id, "The uploaded file is no longer kept. Upload it again to import it."
        )


async def _fail_import(import_id: UUID, error: str) -> None:
    """Mark the import failed, keeping the reason it already has (else `error`)."""
    await CrmImport.update(
        {
            CrmImport.status: "failed",
            CrmImport.error: QueryString("coalesce(error, {})", error),
            CrmImport.updated_at: NOW,
        }
    ).where(CrmImport.id == import_id)


# arq functions of the crm app (a big file takes a while: give the job room, it resumes anyway)
CRM_FUNCTIONS: list[ArqJob] = [func(import_crm_csv, name=IMPORT_JOB, timeout=4 * 3600)]
