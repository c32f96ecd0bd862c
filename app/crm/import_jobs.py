"""The CSV import job: validates rows, inserts batches with unnest(), records progress to resume.

Emails and phones are sealed (app/crm/secure.py) batch by batch before the insert, and so are the
cells of a failed row kept for the error report.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterator
from itertools import islice
from typing import Any
from uuid import UUID

import msgspec
from arq.worker import func

from app.billing.limits import usage_and_plan
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid
from app.core.forms import parse
from app.core.forms.values import form_data
from app.core.lease import fence, leased
from app.core.spreadsheet import unquote_cell
from app.crm import companies, contacts
from app.crm.imports import IMPORT_JOB, import_path, open_csv
from app.crm.schemas import CompanyForm, ContactRow
from app.crm.secure import import_error_binding, seal_contact, seal_list

BATCH = 1000
SEP = "\x1f"  # joins list fields for unnest (validated values never contain it)


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


def _split_name(full: str) -> tuple[str, str]:
    parts = full.split()
    if len(parts) < 2:
        return (parts[0] if parts else ""), ""
    return " ".join(parts[:-1]), parts[-1]


def _values(row: list[str], mapping: dict[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for index, target in mapping.items():
        i = int(index)
        values[target] = unquote_cell(row[i]) if i < len(row) else ""
    if "full_name" in values:
        first, last = _split_name(values.pop("full_name"))
        values.setdefault("first_name", first)
        values.setdefault("last_name", last)
    return values


QUOTED_VALUE = re.compile(r"“[^”]*”")


def _reason(exc: FormInvalid) -> str:
    """The row's problems, without the values the messages quote (“bad@email”): the reason is
    stored in the clear, the row itself (shown beside it in the error report) is sealed."""
    return QUOTED_VALUE.sub("“…”", " ".join(exc.errors.values()))[:500]


class Batch:
    """Validated rows of one batch and the failed ones with their reason."""

    def __init__(self) -> None:
        self.good: list[dict[str, Any]] = []
        self.good_rows: list[tuple[int, list[str]]] = []  # row number and cells of each good row
        self.failed: list[tuple[int, str, list[str]]] = []

    def stop_before(self, room: int) -> int:
        """Keep the first `room` good rows and the failures before the first row that does not
        fit (the plan's record limit); returns the number of the last row handled."""
        first_left_out = self.good_rows[room][0]
        del self.good[room:], self.good_rows[room:]
        self.failed = [f for f in self.failed if f[0] < first_left_out]
        return first_left_out - 1


def _validate(
    kind: str, width: int, rows: list[tuple[int, list[str]]], mapping: dict[str, str]
) -> Batch:
    batch = Batch()
    for number, row in rows:
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            batch.failed.append(
                (number, f"The row has {len(row)} fields but the header has {width}.", row)
            )
            continue
        values = _values(row, mapping)
        try:
            if kind == "contacts":
                row_data = parse(ContactRow, values)
                data = form_data(row_data, contacts.FIELDS)
                data["company"] = row_data.company
            else:
                data = form_data(parse(CompanyForm, values), companies.FIELDS)
        except FormInvalid as exc:
            batch.failed.append((number, _reason(exc), row))
            continue
        batch.good.append(data)
        batch.good_rows.append((number, row))
    return batch


async def _company_ids(
    c: Any, tenant_id: UUID, user_id: UUID | None, names: set[str]
) -> dict[str, UUID]:
    """Ids of the named companies (lower-cased name), creating the ones that don't exist."""
    if not names:
        return {}
    rows = await c.fetch(
        "select distinct on (sort_name) sort_name as key, id from companies"
        " where tenant_id = $1 and sort_name = any($2::text[]) order by sort_name, created_at",
        tenant_id,
        [n.lower() for n in names],
    )
    found = {r["key"]: r["id"] for r in rows}
    missing = {n.lower(): n for n in names if n.lower() not in found}
    if missing:
        ids = [uuid.uuid4() for _ in missing]
        await c.execute(
            "insert into companies (id, tenant_id, name, owner_id)"
            " select u.id, $1, u.name, $2 from unnest($3::uuid[], $4::text[]) as u(id, name)",
            tenant_id,
            user_id,
            ids,
            list(missing.values()),
        )
        await _activities(c, tenant_id, user_id, "company", ids, "created the company (CSV import)")
        found.update(zip(missing.keys(), ids, strict=True))
    return found


async def _activities(
    c: Any, tenant_id: UUID, user_id: UUID | None, subject: str, ids: list[UUID], summary: str
) -> None:
    await c.execute(
        "insert into activities (id, tenant_id, subject_type, subject_id, actor_id, action,"
        " summary) select gen_random_uuid(), $1, $2, u.id, $3, 'created', $4"
        " from unnest($5::uuid[]) as u(id)",
        tenant_id,
        subject,
        user_id,
        summary,
        ids,
    )


async def _insert_contacts(
    c: Any, tenant_id: UUID, user_id: UUID | None, rows: list[dict[str, Any]]
) -> None:
    companies = await _company_ids(
        c, tenant_id, user_id, {r["company"] for r in rows if r["company"]}
    )
    ids = [uuid.uuid4() for _ in rows]
    # (emails_enc, emails_bidx, phones_enc, phones_bidx) of each row, each list joined by SEP
    sealed = [
        [SEP.join(part) for part in seal_contact(r["emails"], r["phones"], tenant_id, cid)]
        for r, cid in zip(rows, ids, strict=True)
    ]
    await c.execute(
        "insert into contacts (id, tenant_id, owner_id, first_name, last_name, emails_enc,"
        " emails_bidx, phones_enc, phones_bidx, title, company_id, tags)"
        " select u.id, $1, $2, u.fn, u.ln, string_to_array(u.em, $3), string_to_array(u.emi, $3),"
        " string_to_array(u.ph, $3), string_to_array(u.phi, $3), u.ti, u.co,"
        " string_to_array(u.tg, $3)"
        " from unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
        " $10::text[], $11::text[], $12::uuid[], $13::text[])"
        " as u(id, fn, ln, em, emi, ph, phi, ti, co, tg)",
        tenant_id,
        user_id,
        SEP,
        ids,
        [r["first_name"] for r in rows],
        [r["last_name"] for r in rows],
        *([s[i] for s in sealed] for i in range(4)),
        [r["title"] for r in rows],
        [companies.get(r["company"].lower()) if r["company"] else None for r in rows],
        [SEP.join(r["tags"]) for r in rows],
    )
    await _activities(c, tenant_id, user_id, "contact", ids, "created the contact (CSV import)")


async def _insert_companies(
    c: Any, tenant_id: UUID, user_id: UUID | None, rows: list[dict[str, Any]]
) -> None:
    ids = [uuid.uuid4() for _ in rows]
    await c.execute(
        "insert into companies (id, tenant_id, owner_id, name, domain, industry, size, address)"
        " select u.id, $1, $2, u.name, u.domain, u.industry, u.size, u.address"
        " from unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])"
        " as u(id, name, domain, industry, size, address)",
        tenant_id,
        user_id,
        ids,
        *([r[f] for r in rows] for f in ("name", "domain", "industry", "size", "address")),
    )
    await _activities(c, tenant_id, user_id, "company", ids, "created the company (CSV import)")


async def _insert_errors(
    c: Any, tenant_id: UUID, import_id: UUID, failed: list[tuple[int, str, list[str]]]
) -> None:
    """Keep the failed rows for the error report, their cells sealed to each error's row."""
    ids = [uuid.uuid4() for _ in failed]
    await c.execute(
        "insert into crm_import_errors (id, tenant_id, import_id, row_number, reason, raw)"
        " select u.id, $1, $2, u.n, u.reason, string_to_array(u.raw, $3)"
        " from unnest($4::uuid[], $5::int[], $6::text[], $7::text[]) as u(id, n, reason, raw)"
        " on conflict do nothing",
        tenant_id,
        import_id,
        SEP,
        ids,
        [n for n, _, _ in failed],
        [r for _, r, _ in failed],
        [
            SEP.join(
                seal_list(
                    [cell.replace(SEP, " ")[:1000] for cell in raw],
                    import_error_binding(tenant_id, error_id),
                )
            )
            for error_id, (_, _, raw) in zip(ids, failed, strict=True)
        ],
    )


def _numbered_rows(reader: Iterator[list[str]], skip: int) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for data rows, row 1 being the first line after the header."""
    for number, row in enumerate(reader, start=1):
        if number > skip:
            yield number, row


@leased(IMPORT_JOB, skipped=0)
async def import_crm_csv(
    ctx: dict[str, Any], tenant_id: str, import_id: str, stop_after_batches: int | None = None
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
    async with tenant_transaction(tenant) as c:
        row = await c.fetchrow(
            "select *, mapping::text as mapping_json from crm_imports where id = $1", job_id
        )
        if row is None or row["status"] in ("done", "uploaded"):
            return 0
        data = dict(row)
    mapping: dict[str, str] = msgspec.json.decode(data["mapping_json"])
    user_id: UUID | None = data["user_id"]
    if not import_path(tenant, job_id).exists():  # erased or expired meanwhile: say so, stop
        await _fail_without_file(tenant, job_id)
        return 0
    if not data["total_rows"]:
        data["total_rows"] = _count_rows(tenant, data)
    async with tenant_transaction(tenant) as c:
        await c.execute(
            "update crm_imports set status = 'running', total_rows = $2, updated_at = now()"
            " where id = $1",
            job_id,
            data["total_rows"],
        )
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
            batch = _validate(data["kind"], width, chunk, mapping)
            async with tenant_transaction(tenant, user_id) as c:
                # at-least-once delivery: if another run got further, this one stops here
                progress = await c.fetchval(
                    "select rows_done from crm_imports where id = $1 for update", job_id
                )
                if progress != done:
                    return processed
                last_row = chunk[-1][0]
                if batch.good:
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
                    insert = _insert_contacts if data["kind"] == "contacts" else _insert_companies
                    await insert(c, tenant, user_id, batch.good)
                if batch.failed:
                    await _insert_errors(c, tenant, job_id, batch.failed)
                done = last_row
                await c.execute(
                    "update crm_imports set rows_done = $2, rows_ok = rows_ok + $3,"
                    " rows_failed = rows_failed + $4, updated_at = now() where id = $1",
                    job_id,
                    done,
                    len(batch.good),
                    len(batch.failed),
                )
            processed += len(chunk)
            batches += 1
            if failure is not None:
                break
            if stop_after_batches is not None and batches >= stop_after_batches:
                return processed
    async with tenant_transaction(tenant) as c:
        await fence(c)  # a worker that lost its lease leaves the ending to the new holder
        await c.execute(
            "update crm_imports set status = $2, error = $3, total_rows = greatest(total_rows,"
            " rows_done), updated_at = now() where id = $1",
            job_id,
            "failed" if failure else "done",
            failure,
        )
    # finished (a broken file fails the same way again): the upload's plaintext goes. Stopped
    # at the plan's limit, it stays for a resume after an upgrade (the retention sweep deletes
    # it after CRM_UPLOAD_KEEP_HOURS without one).
    if not at_plan_limit:
        import_path(tenant, job_id).unlink(missing_ok=True)
    return processed


async def _fail_without_file(tenant_id: UUID, import_id: UUID) -> None:
    async with tenant_transaction(tenant_id) as c:
        await c.execute(
            "update crm_imports set status = 'failed', error = coalesce(error, $2),"
            " updated_at = now() where id = $1",
            import_id,
            "The uploaded file is no longer kept. Upload it again to import it.",
        )


# arq functions of the crm app (a big file takes a while: give the job room, it resumes anyway)
CRM_FUNCTIONS: list[Any] = [func(import_crm_csv, name=IMPORT_JOB, timeout=4 * 3600)]
