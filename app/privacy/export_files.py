"""Writing the export's files: each CSV streamed into the zip, the manifest and README.txt.

The files come from the data map (each domain's ``ExportFile``s). A file without encrypted
columns is produced by PostgreSQL's ``COPY (SELECT …) TO STDOUT`` inside the export's tenant
transaction (so RLS applies) and written chunk by chunk into the zip; a file with encrypted
columns is read through a cursor EXPORT_CHUNK rows at a time and opened by the owning domain,
unless its only encrypted columns are declared lists of ciphertexts (``sealed``) and it has no
custom fields: then COPY writes it too, and a pool of processes decrypts it block by block
(app/privacy/export_pool.py) while the event loop moves the bytes. Memory stays flat anyway.
Text cells that a spreadsheet would run as a formula are prefixed with a quote
(app/core/spreadsheet.py), in SQL for COPY's own files and in Python for the cursor and the
pool's files.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from app.core.crypto import decrypt_column, key_ring
from app.core.datamap import ExportFile
from app.core.spreadsheet import FORMULA_START, SIGNS, safe_cell
from app.crm.custom_fields import (
    FieldDef,
    as_text,
    column_names,
    kind_fields,
    people_here,
    stored_values,
)
from app.privacy.export_copy import FileQuery, Member, copy_rows, ident, pooled_rows
from app.privacy.export_pool import warm

BOM = b"\xef\xbb\xbf"
EXPORT_CHUNK = 5000
PARAM = re.compile(r"\$(\d+)")
# A file streams in its order from its first row: where an index gives that order (contacts by
# name: contacts_tenant_sort) PostgreSQL reads it, instead of sorting every row (on disk, with
# the ciphertexts) before the first one comes and the decryption pool can start. The planner
# chose the sort (its row estimate behind RLS is a guess; it costs the whole result, not the
# first rows); a file with no such index is sorted as before. Set for the file's query only.
IN_ORDER = "set local enable_sort = off"


def cell(value: object) -> str:
    """A Python value as the CSV cell COPY would write (text made safe; numbers stay)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_cell(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def file_sql(spec: ExportFile, scope: str) -> str:
    """The file's query for a workspace export (admins) or an own-data export (members)."""
    where = spec.workspace_where if scope == "workspace" else spec.own_where
    sql = spec.sql.replace("{where}", f"({where})")
    return sql + (f" order by {spec.order_by}" if spec.order_by else "")


def args_for(sql: str, values: list[object]) -> list[object]:
    """As many of ($1 user, $2 browser, $3 workspace) as the query uses."""
    used = max((int(n) for n in PARAM.findall(sql)), default=0)
    return values[:used]


async def _check_columns(
    conn: asyncpg.Connection, spec: ExportFile, sql: str, args: list[object]
) -> list[asyncpg.Attribute]:
    """The query's columns; the documented ones must come first and in order."""
    stmt = await conn.prepare(f"select * from ({sql}) as q limit 0")
    attributes = list(stmt.get_attributes())
    names = [a.name for a in attributes if not a.name.startswith("_")]
    documented = [c.name for c in spec.columns]
    if names != documented:
        raise RuntimeError(f"{spec.name}: the query's columns {names} are not {documented}")
    return attributes


def start_pool(specs: Sequence[ExportFile]) -> None:
    """Start the decryption pool's processes if a file may need them (its encrypted columns
    all sealed lists: it does unless the workspace has custom fields of its kind)."""
    if any(spec.sealed and spec.opener is None for spec in specs):
        warm(key_ring())


async def write_file(
    conn: asyncpg.Connection,
    archive: zipfile.ZipFile,
    spec: ExportFile,
    sql: str,
    args: list[object],
    bom: bool,
) -> dict[str, object]:
    """One file of the export into the archive (BOM first when asked); its manifest entry's
    rows, bytes and SHA-256."""
    attributes = await _check_columns(conn, spec, sql, args)
    query = FileQuery(conn, spec, attributes, sql, args)
    custom = await _custom_columns(spec)
    with archive.open(spec.name, "w", force_zip64=True) as opened:
        member = Member(opened)
        if bom:
            await member.write(BOM)
        await conn.execute(IN_ORDER)
        if spec.opener is None and custom is None and not spec.sealed:
            rows = await copy_rows(query, member)
        elif spec.opener is None and custom is None:
            rows = await pooled_rows(query, member)
        else:
            rows = await _opened_rows(query, member, custom)
        await conn.execute("reset enable_sort")  # (an error ends the transaction and the SET)
    written: dict[str, object] = {
        "rows": rows,
        "bytes": member.size,
        "sha256": member.digest.hexdigest(),
    }
    if custom is not None:
        written["custom_columns"] = custom.names
    return written


class _Custom:
    """A file's custom field columns: the fields, their column names, members' emails."""

    def __init__(self, fields: list[FieldDef], names: list[str], emails: dict[str, str]) -> None:
        self.fields, self.names, self.emails = fields, names, emails

    def cells(self, raw: object) -> list[str]:
        """A row's custom values (its `_custom` text) as its cells; a member by email, so
        that the file imports again."""
        values = stored_values(raw)
        return [as_text(f, values.get(str(f.id)), self.emails) for f in self.fields]


async def _custom_columns(spec: ExportFile) -> _Custom | None:
    """The workspace's active custom fields of the file's kind (None: none, or no kind)."""
    if spec.custom_kind is None:
        return None
    fields = await kind_fields(spec.custom_kind)
    if not fields:
        return None
    emails = {str(p.user_id): p.email for p in await people_here()}
    return _Custom(fields, column_names(fields, [c.name for c in spec.columns]), emails)


async def _opened_rows(file: FileQuery, member: Member, custom: _Custom | None = None) -> int:
    """A file with encrypted columns or custom fields: a cursor, chunks, the domain's opener,
    the custom columns, Python CSV; how many rows.

    A chunk at a time, column by column (no dict a row): the next chunk is fetched and the
    previous one compressed into the zip (on a thread: zlib lets go of the GIL) while this
    one is opened and written."""
    conn, spec, attributes, sql, args = file.conn, file.spec, file.attributes, file.sql, file.args
    header = [c.name for c in spec.columns]
    position = {a.name: i for i, a in enumerate(attributes)}
    kinds = {a.name: a.type.name for a in attributes}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writing: asyncio.Future[None] | None = None

    async def flush() -> None:
        nonlocal writing
        chunk = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        if writing is not None:  # shielded: a cancellation must not leave the thread writing
            await asyncio.shield(writing)
        writing = asyncio.ensure_future(asyncio.to_thread(member.put, chunk))

    writer.writerow(header + (custom.names if custom else []))
    rows = 0
    columns = (  # ids as text: what they are written as, and quicker to read than uuids
        f"q.{ident(a.name)}::text as {ident(a.name)}"
        if a.type.name == "uuid"
        else f"q.{ident(a.name)}"
        for a in attributes
    )
    cursor = await conn.cursor(f"select {', '.join(columns)} from ({sql}) as q", *args)
    fetching: asyncio.Future[list[asyncpg.Record]] = asyncio.ensure_future(
        cursor.fetch(EXPORT_CHUNK)
    )
    try:
        while records := await fetching:
            fetching = asyncio.ensure_future(cursor.fetch(EXPORT_CHUNK))
            await asyncio.sleep(0)  # the next chunk's request goes out: the server reads on
            opened = spec.opener(records) if spec.opener else {}
            for s in spec.sealed:
                ciphertexts = (
                    (r[position[s.source]], r[position[s.tenant]], r[position[s.row]])
                    for r in records
                )
                opened[s.name] = [
                    "; ".join(v) for v in decrypt_column(ciphertexts, s.table, s.column)
                ]
            cells = [
                [cell(v) for v in opened[name]]
                if name in opened
                else _cells([r[position[name]] for r in records], kinds[name])
                for name in header
            ]
            lines: Iterable[Sequence[str]] = zip(*cells, strict=True)
            if custom is not None:
                at = position.get("_custom")
                extra = [
                    [cell(v) for v in custom.cells(None if at is None else r[at])] for r in records
                ]
                lines = [[*line, *more] for line, more in zip(lines, extra, strict=True)]
            writer.writerows(lines)
            rows += len(records)
            await flush()
        await flush()
        if writing is not None:
            await asyncio.shield(writing)
    finally:  # an error or a cancellation: nothing left running on the connection or the zip
        for running in (fetching, writing):
            if running is not None and not running.done():
                await asyncio.wait([running])
    return rows


TEXT_TYPES = {"text", "varchar", "bpchar", "name"}
FORMULA_FIRST = frozenset(FORMULA_START + SIGNS)  # the first characters safe_cell looks at


def _cells(values: list[Any], kind: str) -> list[str]:
    """`cell` of each value of a column of type `kind` (text and ids without a call a cell)."""
    if kind in TEXT_TYPES:
        return [safe_cell(v) if v and v[0] in FORMULA_FIRST else (v or "") for v in values]
    if kind in ("uuid", "int2", "int4", "int8"):
        return ["" if v is None else str(v) for v in values]
    return [cell(v) for v in values]


def readme(manifest: dict[str, object], specs: list[ExportFile]) -> str:
    """README.txt: what the export is, its conventions, and every file's columns."""
    whose = (
        "everything in the workspace"
        if manifest["scope"] == "workspace"
        else "your own data: your account, consents, usage, notifications, security records"
        " and support tickets, and the records you own, wrote, created or were assigned"
    )
    lines = [
        f"Odex CRM export of {manifest['workspace']} ({manifest['generated_at']} UTC)",
        "",
        f"What it holds: {whose}.",
        "",
        "How to read it",
        "- One CSV file per kind of record, UTF-8"
        + (" with a byte-order mark" if manifest["encoding"] == "utf-8-sig" else "")
        + ", comma separated, first line = column names.",
        "- Times are UTC, written YYYY-MM-DD HH:MM:SS; dates YYYY-MM-DD; amounts plain numbers.",
        "- Lists (emails, phones, tags, a deal's people) are separated by '; '.",
        "- The workspace's custom fields follow a file's columns, each named by its label:"
        " money as '12.50 EUR', checkboxes Yes/No, multiple choices separated by '; ',"
        " members by email.",
        "- Names stand beside ids; the ids let you match rows across files.",
        "- A text cell a spreadsheet would run as a formula (starting with = @ tab CR, or + -"
        " when it is not a plain number) starts with ' so that it is shown, not run.",
        "- contacts.csv and companies.csv can be imported again (Contacts or Companies →"
        " Import): the columns are recognised, and the leading ' above is removed.",
        "- manifest.json lists every file with its row count, size and SHA-256.",
        "- attachments/<record type>/ holds the files attached to records, as they were"
        " uploaded (attachments.csv lists them; the file name starts with its id).",
        "",
    ]
    for spec in specs:
        lines += [spec.name, "  " + spec.description]
        lines += [f"  - {c.name}: {c.description}" for c in spec.columns]
        lines.append("")
    return "\n".join(lines)
