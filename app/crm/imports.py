"""CSV import actions: inspect an uploaded file, map its columns, queue the job, report errors."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
from piccolo.querystring import QueryString

from app.accounts.schemas import Current
from app.billing.limits import check_record_limit
from app.core.crypto import decrypt_list
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.lease import job_key, run_state, schedule
from app.core.spreadsheet import safe_cell
from app.crm import import_queries
from app.crm.common import insert_mine
from app.crm.import_custom import custom_targets, guess_custom
from app.crm.import_kinds import ImportKind, registered_kinds
from app.crm.import_queries import ImportSummary
from app.crm.import_rows import BUILT_IN
from app.crm.secure import import_error_binding
from app.crm.tables import CrmImport, CrmImportError
from app.settings import get_settings

IMPORT_JOB = "import_crm_csv"
PREVIEW_ROWS = 5
STALLED_AFTER = timedelta(minutes=10)
CP1252_NOTE = (
    "This file isn't UTF-8, so we read it as Windows-1252 (Western European, what Excel saves"
    " on Windows). Check the preview: if letters look wrong, save the file as “CSV UTF-8”"
    " and upload it again."
)


def import_path(tenant_id: UUID, import_id: UUID) -> Path:
    return Path(get_settings().data_dir) / "imports" / str(tenant_id) / f"{import_id}.csv"


def open_csv(path: Path, encoding: str) -> io.TextIOWrapper:
    """The uploaded file as text (cp1252's few undefined bytes become U+FFFD)."""
    errors = "replace" if encoding == "cp1252" else "strict"
    return open(path, encoding=encoding, errors=errors, newline="")


def detect_encoding(path: Path) -> str:
    """utf-8-sig if the whole file decodes as UTF-8, else cp1252; refuses UTF-16 and binaries."""
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise FormInvalid(
                {"file": "This file is UTF-16 text. Save it as “CSV UTF-8” and upload it again."}
            )
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        first = True
        while chunk := handle.read(1024 * 1024):
            if first and b"\x00" in chunk[:65536]:
                raise FormInvalid({"file": "This doesn't look like a CSV file (it is binary)."})
            first = False
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return "cp1252"
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_head(path: Path, encoding: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """The header row and the first preview rows; FormInvalid if the CSV can't be read."""
    with open_csv(path, encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            headers = next(reader, None)
            rows = [row for _, row in zip(range(PREVIEW_ROWS), reader, strict=False)]
        except csv.Error as exc:
            raise FormInvalid({"file": f"This file isn't valid CSV: {exc}."}) from exc
    if not headers or not any(h.strip() for h in headers):
        raise FormInvalid({"file": "The file is empty: the first line must name the columns."})
    if len(headers) > 200:
        raise FormInvalid({"file": "The file has more than 200 columns: is it really a CSV?"})
    if not rows:
        raise FormInvalid({"file": "The file has a header line but no rows to import."})
    return [h.strip()[:100] for h in headers], rows


def kinds() -> dict[str, ImportKind]:
    """Every kind of import, by name: the crm domain's, then those higher domains registered."""
    return {kind.name: kind for kind in (*BUILT_IN, *registered_kinds())}


def kind_of(name: str) -> ImportKind:
    """The kind an import was made as (FormInvalid for one no longer offered)."""
    found = kinds().get(name)
    if found is None:
        raise FormInvalid({"kind": kind_message()})
    return found


def kind_message() -> str:
    """The message for a kind not offered: "Choose contacts, companies or deals."."""
    names = [kind.name for kind in kinds().values()]
    return f"Choose {', '.join(names[:-1])} or {names[-1]}." if len(names) > 1 else "Choose one."


def guess_mapping(
    kind: ImportKind, headers: list[str], custom: Sequence[tuple[str, str]] = ()
) -> dict[str, str]:
    """{column index: target} from the column names (first match wins; then the `custom`
    fields' targets by their names)."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        key = re.sub(r"[_\s]+", " ", header.lower()).strip()
        for target in kind.fields:
            if target.field not in taken and key in target.headers:
                mapping[str(index)] = target.field
                taken.add(target.field)
                break
    for dropped, when in kind.guess_drops.items():
        if when & taken:
            mapping = {k: t for k, t in mapping.items() if t != dropped}
    left = [h if str(i) not in mapping else "" for i, h in enumerate(headers)]
    return mapping | guess_custom(left, custom, taken)


def inspect_upload(upload: Path) -> tuple[str, str, list[str]]:
    """(encoding, delimiter, headers) of an uploaded file; FormInvalid if it isn't usable CSV."""
    if upload.stat().st_size == 0:
        raise FormInvalid({"file": "The file is empty."})
    encoding = detect_encoding(upload)
    with open_csv(upload, encoding) as handle:
        delimiter = sniff_delimiter(handle.read(64 * 1024))
    headers, _ = read_head(upload, encoding, delimiter)
    return encoding, delimiter, headers


async def start_import(current: Current, kind: str, filename: str, upload: Path) -> UUID:
    """Register an uploaded file: check it reads as CSV, guess the mapping; the job comes later."""
    try:
        declared = kind_of(kind)
        # reading a big file through the UTF-8 decoder takes a while: not on the event loop
        encoding, delimiter, headers = await asyncio.to_thread(inspect_upload, upload)
    except FormInvalid:
        os.unlink(upload)
        raise
    import_id = uuid.uuid4()
    final = import_path(current.tenant_id, import_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(upload, final)
    async with tenant_transaction(current.tenant_id, current.user_id):
        custom = await custom_targets(kind)
        await insert_mine(
            CrmImport,
            current,
            import_id,
            kind=kind,
            filename=(filename or "upload.csv")[:300],
            encoding=encoding,
            delimiter=delimiter,
            headers=headers,
            mapping=msgspec.json.encode(guess_mapping(declared, headers, custom)).decode(),
        )
    return import_id


async def recent_imports(current: Current, limit: int = 50) -> list[ImportSummary]:
    """The workspace's latest imports, newest first."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        return await import_queries.recent_imports(c, current.tenant_id, limit)


async def import_targets(current: Current, kind: str) -> list[tuple[str, str]]:
    """What a column of an import of `kind` can be mapped to: the fields, then the custom
    fields of the workspace."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        return [*kind_of(kind).targets, *await custom_targets(kind)]


async def get_import(current: Current, import_id: UUID) -> dict[str, Any]:
    async with tenant_transaction(current.tenant_id, current.user_id):
        data = await CrmImport.select().where(CrmImport.id == import_id).first()
    if data is None:
        raise RecordNotFound("import")
    data["mapping"] = msgspec.json.decode(data["mapping"])
    data["note"] = CP1252_NOTE if data["encoding"] == "cp1252" else ""
    data["stalled"] = is_stalled(data)
    state = await run_state(job_key(IMPORT_JOB, current.tenant_id, import_id))
    data["resuming"] = bool(state and state["resuming"]) and data["status"] in ("queued", "running")
    return data


def preview(data: dict[str, Any], current: Current) -> list[list[str]]:
    path = import_path(current.tenant_id, data["id"])
    if not path.exists():
        return []
    _, rows = read_head(path, data["encoding"], data["delimiter"])
    return [[cell[:200] for cell in row] for row in rows]


def clean_mapping(
    kind: ImportKind,
    headers: list[str],
    columns: dict[int, str],
    custom: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """{column index: target} from the mapping form's {column: field} (ImportMapping), the
    `custom` fields' targets allowed too; FormInvalid for an unknown, missing or doubled one."""
    allowed = {t for t, _ in [*kind.targets, *custom]}
    mapping: dict[str, str] = {}
    errors: dict[str, str] = {}
    seen: dict[str, str] = {}
    for index in range(len(headers)):
        target = columns.get(index, "")
        if not target:
            continue
        if target not in allowed:
            errors[f"col_{index}"] = "Choose a field from the list."
        elif target in seen:
            errors[f"col_{index}"] = f"“{headers[int(seen[target])]}” is already mapped to it."
        else:
            seen[target] = str(index)
            mapping[str(index)] = target
    if not set(mapping.values()) & kind.required:
        errors["form"] = kind.required_message
    if errors:
        raise FormInvalid(errors)
    return mapping


def duplicate_rule(kind: ImportKind, chosen: str) -> str:
    """What to do with rows of records already there: `chosen` if the kind offers it, its
    default when the form left it out; FormInvalid otherwise."""
    offered = [value for value, _ in kind.duplicates]
    if not chosen:
        return kind.default_duplicate
    if chosen not in offered:
        raise FormInvalid({"on_duplicate": "Choose what to do with rows you already have."})
    return chosen


async def run_import(
    current: Current, import_id: UUID, columns: dict[int, str], on_duplicate: str = ""
) -> None:
    """Save the mapping (and what to do with rows of known contacts) and queue the import job
    (after commit)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        row = await _locked(import_id)
        if row["status"] not in ("uploaded", "failed"):
            raise FormInvalid({"form": "This import has already started."})
        kind = kind_of(row["kind"])
        if kind.counts_records:
            await check_record_limit(current.tenant_id, row["kind"])  # plan limit (billing)
        custom = await custom_targets(row["kind"])
        mapping = clean_mapping(kind, list(row["headers"]), columns, custom)
        on_duplicate = duplicate_rule(kind, on_duplicate)
        await CrmImport.update(
            {
                CrmImport.mapping: msgspec.json.encode(mapping).decode(),
                CrmImport.on_duplicate: on_duplicate,
                CrmImport.status: "queued",
                CrmImport.error: None,
                CrmImport.updated_at: QueryString("now()"),
            }
        ).where(CrmImport.id == import_id)
        await schedule(IMPORT_JOB, str(current.tenant_id), str(import_id))


def is_stalled(data: dict[str, Any]) -> bool:
    """A queued or running import that has made no progress for STALLED_AFTER (worker died)."""
    if data["status"] not in ("queued", "running"):
        return False
    return bool(datetime.now(UTC) - data["updated_at"] > STALLED_AFTER)


async def resume_import(current: Current, import_id: UUID) -> None:
    """Queue a stalled or stopped import again; it continues after the last committed row."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        row = await _locked(import_id)
        if not (row["status"] == "failed" or is_stalled(row)):
            raise FormInvalid({"form": "This import is still running or already finished."})
        await CrmImport.update(
            {
                CrmImport.status: "queued",
                CrmImport.error: None,
                CrmImport.updated_at: QueryString("now()"),
            }
        ).where(CrmImport.id == import_id)
        await schedule(IMPORT_JOB, str(current.tenant_id), str(import_id))


class ImportErrorRow(msgspec.Struct, frozen=True):
    """A refused row of an import: its number in the file, why, and its cells (opened)."""

    row_number: int
    reason: str
    raw: list[str]


async def _locked(import_id: UUID) -> dict[str, Any]:
    """The import, locked until the transaction ends (a run or resume is decided on it)."""
    row = await CrmImport.select().where(CrmImport.id == import_id).lock_rows().first()
    if row is None:
        raise RecordNotFound("import")
    return row


async def error_rows(
    current: Current, import_id: UUID
) -> tuple[dict[str, Any], list[ImportErrorRow]]:
    """The import and its failed rows (row number, reason, raw values)."""
    data = await get_import(current, import_id)
    async with tenant_transaction(current.tenant_id, current.user_id):
        rows = (
            await CrmImportError.select(
                CrmImportError.id,
                CrmImportError.row_number,
                CrmImportError.reason,
                CrmImportError.raw_cells.as_alias("cells"),
            )
            .where(CrmImportError.import_id == import_id)
            .order_by(CrmImportError.row_number)
        )
    # the cells are sealed to their row (they hold emails and phones in the clear otherwise)
    return data, [
        ImportErrorRow(
            r["row_number"],
            r["reason"],
            decrypt_list(r["cells"], import_error_binding(current.tenant_id, r["id"])),
        )
        for r in rows
    ]


def errors_csv(headers: list[str], rows: list[ImportErrorRow]) -> Iterator[str]:
    """CSV lines: the row number, the reason, then the row as it was in the file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "reason", *(safe_cell(h) for h in headers)])
    for row in rows:
        writer.writerow([row.row_number, row.reason, *(safe_cell(c) for c in row.raw)])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
