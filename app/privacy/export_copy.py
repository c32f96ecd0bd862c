"""How the export writes a file by COPY: a file without encrypted columns straight from
``COPY … TO STDOUT`` (text neutralised in SQL), and a file whose encrypted columns are all
sealed lists through the decryption pool (app/privacy/export_pool.py), in blocks of rows.
The cursor path and the archive are in export_files.py."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
from collections import deque
from dataclasses import dataclass
from typing import IO

import asyncpg

from app.core.crypto import key_ring
from app.core.datamap import ExportFile
from app.core.spreadsheet import neutralise_sql
from app.privacy.export_pool import Plan, SealedSlot, open_block, pool, pool_size

POOL_BLOCK = 1 << 20  # bytes of COPY's output a pool task opens (about 4,000 contacts)
# Types whose values are numbers, dates, ids or booleans: never a formula, left untouched
# (so a negative amount stays a number in the spreadsheet).
SAFE_TYPES = {
    "int2", "int4", "int8", "numeric", "float4", "float8", "money", "bool", "uuid",
    "date", "time", "timetz", "timestamp", "timestamptz", "interval", "oid",
}  # fmt: skip


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Member:
    """A file of the archive being written: its bytes counted and hashed for the manifest."""

    def __init__(self, member: IO[bytes]) -> None:
        self.member, self.digest, self.size = member, hashlib.sha256(), 0

    def put(self, chunk: bytes) -> None:
        self.member.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)

    async def write(self, chunk: bytes) -> None:
        self.put(chunk)


@dataclass(frozen=True)
class FileQuery:
    """What every way of writing a file reads: the file's `spec`, its query `sql` with `args`
    on `conn`, and the columns it answers (`attributes`)."""

    conn: asyncpg.Connection
    spec: ExportFile
    attributes: list[asyncpg.Attribute]
    sql: str
    args: list[object]


async def copy_rows(file: FileQuery, member: Member) -> int:
    """A file without encrypted columns by ``COPY (query) TO STDOUT``, text neutralised in
    SQL; how many rows."""
    columns = [  # the _ columns are for the other paths only (e.g. custom values)
        copy_column(attr) for attr in file.attributes if not attr.name.startswith("_")
    ]
    query = f"select {', '.join(columns)} from ({file.sql}) as q"
    status = await file.conn.copy_from_query(
        query, *file.args, output=member.write, format="csv", header=True
    )
    return int(status.split()[-1])


def copy_column(attr: asyncpg.Attribute) -> str:
    """A column of the query as COPY writes it: text neutralised in SQL, numbers as they are."""
    col = "q." + ident(attr.name)
    safe = attr.type.name in SAFE_TYPES
    return col if safe else f"{neutralise_sql(col)} as {ident(attr.name)}"


class Blocks:
    """COPY's output (text format: a newline in a cell is escaped) cut into blocks of whole
    rows of about POOL_BLOCK bytes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def feed(self, data: bytes) -> bytes | None:
        """The rows ended so far once there are enough of them (None: not yet)."""
        self.parts.append(data)
        self.size += len(data)
        if self.size < POOL_BLOCK:
            return None
        buffer = b"".join(self.parts)
        end = buffer.rfind(b"\n")
        rest = buffer[end + 1 :]
        self.parts, self.size = [rest], len(rest)
        return buffer[: end + 1] if end >= 0 else None

    def rest(self) -> bytes:
        return b"".join(self.parts)


def pooled_query(
    spec: ExportFile, attributes: list[asyncpg.Attribute], sql: str
) -> tuple[str, Plan]:
    """The COPY query of a pooled file and how the pool turns its rows into lines.

    A row of it: the file's columns as they are, each sealed column's ciphertexts joined by
    spaces, then the ids they are bound to. COPY writes a value as its text (a boolean as t
    or f), as the cursor path does; the pool makes the text columns safe for a spreadsheet
    and writes the CSV."""
    header = [c.name for c in spec.columns]
    kinds = {a.name: a.type.name for a in attributes}
    sealed = {s.name: s for s in spec.sealed}
    ids = list(dict.fromkeys(name for s in spec.sealed for name in (s.tenant, s.row)))
    fields = [
        f"array_to_string(q.{ident(sealed[c].source)}, ' ')" if c in sealed else f"q.{ident(c)}"
        for c in header
    ]
    width = len(fields)
    fields += [f"q.{ident(column)}" for column in ids]
    plan = Plan(
        width,
        tuple(
            SealedSlot(
                header.index(s.name),
                width + ids.index(s.tenant),
                width + ids.index(s.row),
                s.table,
                s.column,
            )
            for s in spec.sealed
        ),
        tuple(
            at
            for at, column in enumerate(header)
            if column not in sealed and kinds[column] not in SAFE_TYPES
        ),
    )
    return f"select {', '.join(fields)} from ({sql}) as q", plan


async def pooled_rows(file: FileQuery, member: Member) -> int:
    """A file whose encrypted columns are all ``sealed`` lists: ``COPY (query) TO STDOUT``
    (`pooled_query`) cut into blocks of rows that the pool decrypts, makes safe and writes as
    CSV lines (the cursor path's bytes), put into the zip in order on a thread; how many rows.

    A few blocks in flight at most: COPY waits while they are (memory stays flat)."""
    conn, spec, attributes, sql, args = file.conn, file.spec, file.attributes, file.sql, file.args
    query, plan = pooled_query(spec, attributes, sql)
    first = io.StringIO()
    csv.writer(first, lineterminator="\n").writerow([c.name for c in spec.columns])
    await member.write(first.getvalue().encode())
    executor = pool(key_ring())
    in_flight = 2 * pool_size()
    loop = asyncio.get_running_loop()
    opening: deque[asyncio.Future[bytes]] = deque()
    writing: asyncio.Future[None] | None = None
    blocks = Blocks()

    async def put_next() -> None:
        nonlocal writing
        lines = await opening.popleft()
        if writing is not None:  # shielded: a cancellation must not leave the thread writing
            await asyncio.shield(writing)
        writing = asyncio.ensure_future(asyncio.to_thread(member.put, lines))

    async def send(block: bytes) -> None:
        opening.append(loop.run_in_executor(executor, open_block, block, plan))
        while len(opening) > in_flight:
            await put_next()

    async def output(data: bytes) -> None:
        if (block := blocks.feed(data)) is not None:
            await send(block)

    try:
        status = await conn.copy_from_query(query, *args, output=output, format="text", null="")
        if rest := blocks.rest():
            await send(rest)
        while opening:
            await put_next()
        if writing is not None:
            await asyncio.shield(writing)
    finally:  # an error or a cancellation: no block left to open, the zip's thread done
        for block_future in opening:
            block_future.cancel()
        if writing is not None and not writing.done():
            await asyncio.wait([writing])
    return int(status.split()[-1])
