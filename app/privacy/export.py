"""CSV export of a workspace: one CSV per entity in a zip with a manifest, streamed by COPY.

The export is a declarative list of (file name, table, SQL). Each file is produced by
PostgreSQL's `COPY (SELECT …) TO STDOUT` inside `tenant_transaction` (so RLS applies) and written
chunk by chunk into the zip, so the worker's memory stays flat whatever the row count. Text cells
that a spreadsheet would run as a formula (= + - @ tab CR) are prefixed with a quote in SQL.

Files of tables with encrypted columns (DECRYPTED_FILES: contacts' emails/phones, note bodies)
can't be decrypted inside COPY: they are read through a cursor in chunks of EXPORT_CHUNK rows,
decrypted in Python and written as the same CSV (the other columns still cast to text by
PostgreSQL, blind indexes left out), so memory stays flat there too.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.core.availability import BACKEND_DOWN
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.core.redis import redis
from app.jobs.lease import fence, job_key, leased, run_state, schedule
from app.notifications.services import notify, queue_mail
from app.privacy import hooks
from app.privacy.tables import Export
from app.security.crypto import decrypt_list, decrypt_text
from app.settings import get_settings

EXPORT_JOB = "run_export"
BOM = b"\xef\xbb\xbf"
# Types whose values are numbers, dates, ids or booleans: never a formula, left untouched
# (so a negative amount stays a number in the spreadsheet).
SAFE_TYPES = {
    "int2", "int4", "int8", "numeric", "float4", "float8", "money", "bool", "uuid",
    "date", "time", "timetz", "timestamp", "timestamptz", "interval", "oid",
}  # fmt: skip

# (file name, table that must exist, query). $1 is the requesting user's id.
EXPORT_SPECS: list[tuple[str, str, str]] = [
    ("contacts.csv", "contacts", "select * from contacts"),
    ("companies.csv", "companies", "select * from companies"),
    ("pipelines.csv", "pipelines", "select * from pipelines"),
    ("stages.csv", "stages", "select * from stages"),
    ("deals.csv", "deals", "select * from deals"),
    ("deal_contacts.csv", "deal_contacts", "select * from deal_contacts"),
    ("invoices.csv", "invoices", "select * from invoices"),
    ("invoice_lines.csv", "invoice_lines", "select * from invoice_lines"),
    ("notes.csv", "notes", "select * from notes"),
    ("tasks.csv", "tasks", "select * from tasks"),
    ("activities.csv", "activities", "select * from activities"),
    (
        "my_account.csv",
        "users",
        "select id, email, name, email_verified_at, is_staff, created_at, updated_at "
        "from users where id = $1",
    ),
    (
        "my_memberships.csv",
        "memberships",
        "select m.tenant_id, m.role, m.created_at from memberships m where m.user_id = $1",
    ),
    (
        "my_consents.csv",
        "consents",
        "select id, purpose, granted, policy_version, source, page, ip, user_agent, created_at "
        "from consents where user_id = $1 order by id",
    ),
    (
        "my_usage_events.csv",
        "usage_events",
        "select created_at, category, kind, path, feature, browser, os, device, ip "
        "from usage_events where user_id = $1 order by created_at",
    ),
]


# Files whose `<name>_enc` columns hold ciphertext: written as `<name>` decrypted, `*_bidx` dropped.
DECRYPTED_FILES = {"contacts.csv", "notes.csv"}
EXPORT_CHUNK = 1000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(expr: str) -> str:
    """SQL that prefixes a text value with ' when a spreadsheet would take it as a formula."""
    text = f"({expr})::text"
    return (
        f"case when left({text}, 1) in ('=', '+', '-', '@', chr(9), chr(13)) "
        f"then '''' || {text} else {text} end"
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def safe_query(conn: asyncpg.Connection, sql: str) -> str:
    """Wrap `sql` so every text-like column is neutralised against formula injection."""
    stmt = await conn.prepare(f"select * from ({sql}) as q limit 0")
    columns = []
    for attr in stmt.get_attributes():
        col = "q." + _ident(attr.name)
        if attr.type.name in SAFE_TYPES:
            columns.append(col)
        else:
            columns.append(f"{neutralise(col)} as {_ident(attr.name)}")
    return f"select {', '.join(columns)} from ({sql}) as q"


async def existing_specs(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
    """The specs whose table exists in this database (every CRM table that is migrated)."""
    names = [table for _, table, _ in EXPORT_SPECS]
    rows = await conn.fetch(
        "select t from unnest($1::text[]) as t where to_regclass('public.' || t) is not null",
        names,
    )
    present = {r["t"] for r in rows}
    return [spec for spec in EXPORT_SPECS if spec[1] in present]


def export_dir() -> Path:
    return Path(get_settings().data_dir) / "exports"


def _progress_key(export_id: UUID) -> str:
    return f"privacy:export:{export_id}:progress"


async def request_export(current: Current, bom: bool) -> UUID:
    """Start an export of the workspace for the current user (or return the one running)."""
    async with tenant_transaction(current.tenant_id) as conn:
        running = await conn.fetchval(
            "select id from exports where user_id = $1 and status in ('queued', 'running') "
            "order by created_at desc limit 1",
            current.user_id,
        )
        if running:
            return UUID(str(running))
        export_id = uuid.uuid4()
        await Export.insert(
            Export(id=export_id, tenant_id=current.tenant_id, user_id=current.user_id, bom=bom)
        )
        await hooks.security_event(
            current.tenant_id,
            "export_requested",
            current.user_id,
            {"summary": "CSV export of all workspace data", "export_id": str(export_id)},
        )

        await schedule(EXPORT_JOB, str(current.tenant_id), str(export_id))
    return export_id


async def export_status(current: Current, export_id: UUID) -> dict[str, Any]:
    """The requester's view of an export (others get 404): status, live progress, link."""
    async with tenant_transaction(current.tenant_id):
        row = (
            await Export.select()
            .where((Export.id == export_id) & (Export.user_id == current.user_id))
            .first()
        )
    if row is None:
        raise RecordNotFound()
    if row["status"] in ("queued", "running"):
        live = await redis().get(_progress_key(export_id))
        if live:
            progress, _, current_file = live.decode().partition(":")
            row["progress"], row["current_file"] = int(progress), current_file
        state = await run_state(job_key(EXPORT_JOB, current.tenant_id, export_id))
        row["resuming"] = bool(state and state["resuming"])
    row["expired"] = bool(row["expires_at"] and row["expires_at"] <= datetime.now(UTC))
    return row


async def latest_exports(current: Current, limit: int = 5) -> list[dict[str, Any]]:
    async with tenant_transaction(current.tenant_id):
        rows = (
            await Export.select()
            .where(Export.user_id == current.user_id)
            .order_by(Export.created_at, ascending=False)
            .limit(limit)
        )
    now = datetime.now(UTC)
    for row in rows:
        row["expired"] = bool(row["expires_at"] and row["expires_at"] <= now)
    return list(rows)


async def export_file(current: Current, export_id: UUID) -> tuple[Path, str]:
    """The zip of a ready, unexpired export, for its requester only; 404 for anyone else."""
    row = await export_status(current, export_id)
    path = export_dir() / str(current.tenant_id) / f"{export_id}.zip"
    if row["status"] != "ready" or row["expired"] or not path.exists():
        raise RecordNotFound()
    return path, str(row["file_name"])


async def _write_member(
    conn: asyncpg.Connection,
    archive: zipfile.ZipFile,
    name: str,
    sql: str,
    args: list[Any],
    bom: bool,
) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    with archive.open(name, "w", force_zip64=True) as member:

        async def write(chunk: bytes) -> None:
            nonlocal size
            member.write(chunk)
            digest.update(chunk)
            size += len(chunk)

        if bom:
            await write(BOM)
        status = await conn.copy_from_query(
            await safe_query(conn, sql), *args, output=write, format="csv", header=True
        )
    return {
        "file": name,
        "rows": int(status.split()[-1]),
        "bytes": size,
        "sha256": digest.hexdigest(),
    }


def _array_literal(values: list[str]) -> str:
    """A PostgreSQL array literal, as COPY writes the other text[] columns ({a,"b c"})."""

    def item(v: str) -> str:
        if v and v.upper() != "NULL" and not any(ch in v for ch in ',{}"\\ \t\n\r'):
            return v
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "{" + ",".join(item(v) for v in values) + "}"


def _safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


async def _write_decrypted(
    conn: asyncpg.Connection,
    archive: zipfile.ZipFile,
    name: str,
    sql: str,
    args: list[Any],
    bom: bool,
) -> dict[str, Any]:
    """Like `_write_member`, for a file with encrypted columns: a cursor, chunks, Python CSV."""
    stmt = await conn.prepare(f"select * from ({sql}) as q limit 0")
    header: list[str] = []
    exprs: list[str] = []
    decoders: list[Any] = []
    for attr in stmt.get_attributes():
        col = "q." + _ident(attr.name)
        if attr.name.endswith("_bidx"):
            continue
        if attr.name.endswith("_enc"):
            header.append(attr.name.removesuffix("_enc"))
            exprs.append(col)
            if attr.type.kind == "array":
                decoders.append(lambda v: _array_literal(decrypt_list(v)))
            else:
                decoders.append(lambda v: _safe_cell(decrypt_text(v)) if v else v)
        else:
            header.append(attr.name)
            safe = attr.type.name in SAFE_TYPES
            exprs.append(f"{col}::text" if safe else f"{neutralise(col)}")
            decoders.append(None)
    digest = hashlib.sha256()
    size = rows = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    with archive.open(name, "w", force_zip64=True) as member:

        def flush() -> None:
            nonlocal size
            chunk = buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            member.write(chunk)
            digest.update(chunk)
            size += len(chunk)

        if bom:
            buffer.write(BOM.decode())
        writer.writerow(header)
        cursor = await conn.cursor(f"select {', '.join(exprs)} from ({sql}) as q", *args)
        while records := await cursor.fetch(EXPORT_CHUNK):
            for record in records:
                writer.writerow(
                    [
                        value if decode is None or value is None else decode(value)
                        for value, decode in zip(record, decoders, strict=True)
                    ]
                )
            rows += len(records)
            flush()
        flush()
    return {"file": name, "rows": rows, "bytes": size, "sha256": digest.hexdigest()}


@leased(EXPORT_JOB, skipped="skipped")
async def run_export(ctx: dict[str, Any] | None, tenant: str, export_id: str) -> str:
    """arq job: write the zip (temp name, then rename), then notify and mail the requester.

    Safe to run twice: a finished export is skipped, an interrupted one starts over (under a
    lease: a dead worker's export is taken over within a minute, and finished once).
    """
    eid, tenant_id = UUID(export_id), UUID(tenant)
    async with tenant_transaction(tenant_id):
        row = await Export.select().where(Export.id == eid).first()
    if row is None or row["status"] == "ready":
        return "skipped"
    user_id = UUID(str(row["user_id"]))
    folder = export_dir() / str(tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{eid}.zip"
    temp = folder / f".{eid}.{os.getpid()}.tmp"
    stamp = datetime.now(UTC)
    file_name = f"odex-export-{stamp:%Y%m%d-%H%M}.zip"
    try:
        async with tenant_transaction(tenant_id, user_id):
            await Export.update(
                {Export.status: "running", Export.started_at: stamp, Export.progress: 0}
            ).where(Export.id == eid)
        manifest: dict[str, Any] = {
            "export_id": export_id,
            "workspace_id": str(tenant_id),
            "requested_by": str(user_id),
            "generated_at": stamp.isoformat(),
            "encoding": "utf-8-sig" if row["bom"] else "utf-8",
            "formula_cells": "text cells starting with = + - @ tab or CR are prefixed with '",
            "files": [],
        }
        async with tenant_transaction(tenant_id, user_id) as conn:
            specs = await existing_specs(conn)
            with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for index, (name, _table, sql) in enumerate(specs):
                    args = [user_id] if "$1" in sql else []
                    await redis().set(
                        _progress_key(eid), f"{index * 100 // len(specs)}:{name}", ex=86400
                    )
                    write = _write_decrypted if name in DECRYPTED_FILES else _write_member
                    entry = await write(conn, archive, name, sql, args, bool(row["bom"]))
                    manifest["files"].append(entry)
                archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        os.replace(temp, final)
        await _finish(tenant_id, user_id, eid, file_name, final.stat().st_size, manifest)
    except Exception as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, BACKEND_DOWN):
            raise  # an outage, not a failed export: the job is handed back and resumed
        async with tenant_transaction(tenant_id, user_id):
            await Export.update({Export.status: "failed", Export.error: type(exc).__name__}).where(
                Export.id == eid
            )
        raise
    finally:
        await redis().delete(_progress_key(eid))
    return "ready"


async def _finish(
    tenant_id: UUID,
    user_id: UUID,
    export_id: UUID,
    file_name: str,
    size: int,
    manifest: dict[str, Any],
) -> None:
    settings = get_settings()
    expires = datetime.now(UTC) + timedelta(hours=settings.export_link_hours)
    link = f"{settings.base_url}/settings/export/{export_id}/download"
    async with tenant_transaction(tenant_id, user_id) as conn:
        await fence(conn)  # a worker that lost its lease must not announce the export twice
        await Export.update(
            {
                Export.status: "ready",
                Export.progress: 100,
                Export.file_name: file_name,
                Export.size_bytes: size,
                Export.manifest: json.dumps(manifest),
                Export.finished_at: datetime.now(UTC),
                Export.expires_at: expires,
            }
        ).where(Export.id == export_id)
        user = await conn.fetchrow("select email, name from users where id = $1", user_id)
        await notify(
            tenant_id,
            user_id,
            "export",
            "Your data export is ready",
            f"Download it before {expires:%d %b %Y %H:%M} UTC.",
            "/settings/export",
        )
        if user:
            await queue_mail(
                "export",
                str(user["email"]),
                "Your Odex CRM data export is ready",
                "privacy_export_ready.txt",
                name=user["name"],
                link=link,
                hours=settings.export_link_hours,
            )
