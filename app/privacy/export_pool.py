"""The export's decryption pool: processes that turn blocks of an export file's rows, as
PostgreSQL's ``COPY … TO STDOUT`` (text format) wrote them, into the file's CSV lines, their
lists of ciphertexts decrypted (app/core/crypto.py ``decrypt_joined``), text made safe for a
spreadsheet (app/core/spreadsheet.py) and cells quoted as Python's csv writer quotes them (so
the file is the cursor path's byte for byte), while the job's event loop only moves bytes.

The query (app/privacy/export_copy.py ``pooled_query``) gives a row's columns as they are
(nulls as empty fields), each sealed list's ciphertexts joined by spaces, then the ids they
are bound to: PostgreSQL only reads the rows (making text safe and quoting it in SQL took it
longer than the query itself); a row's work here is a split, the decryptions and a join, a
column at a time looked at whole for the rare cells to change (bytes, never decoded).

One pool a worker process, started on the first export that needs it and kept (a process a
core, spawned: nothing of the worker's memory is copied, the processes import only this
module's few dependencies). The key ring reaches each process once, through the pipe that
starts it (never a file); a ring changed since makes a new pool. This module is imported by
the pool's processes: keep its imports light.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from app.core.crypto import KeyRing, decrypt_joined, key_ring
from app.core.spreadsheet import FORMULA_START, PLAIN_NUMBER, SIGNS, safe_cell


def _quoted_by_csv() -> frozenset[str]:
    """The characters that make Python's csv writer (as the export uses it) quote a cell."""
    found = set()
    for char in ',"\n\r\t;':
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([f"a{char}b", ""])
        if out.getvalue().startswith('"'):
            found.add(char)
    return frozenset(found)


QUOTED = _quoted_by_csv()  # ',', '"' and the newline (this Python leaves a lone CR as it is)


@dataclass(frozen=True)
class SealedSlot:
    """Where a row of a block holds a sealed column's ciphertexts (joined by spaces), its
    workspace and its row id, and what the ciphertexts are bound to."""

    at: int
    tenant: int
    row: int
    table: str
    column: str


@dataclass(frozen=True)
class Plan:
    """How to turn a block's rows into the file's lines: the first `width` fields (the
    sealed ones' ciphertexts decrypted in place, the `text` ones made safe), written by the
    csv writer; the rest, the ids the decryption needs, are dropped."""

    width: int
    sealed: tuple[SealedSlot, ...]
    text: tuple[int, ...] = ()


_ring: KeyRing | None = None
COPY_ESCAPE = re.compile(rb"\\(.)")
COPY_ESCAPES = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
# the first bytes safe_cell looks at, each with the separator before a cell of a column's
# cells joined (see `_column`)
FORMULA_FIRST = frozenset(c.encode() for c in FORMULA_START + SIGNS)
FORMULA_AFTER = tuple(b"\0" + c for c in FORMULA_FIRST)
QUOTED_BYTES = tuple(c.encode() for c in sorted(QUOTED))
NEEDS_QUOTES = re.compile(b"[" + re.escape("".join(sorted(QUOTED)).encode()) + b"]")
SIGNS_BYTES = frozenset(c.encode() for c in SIGNS)
ASCII_SPACE = "".join(c for c in map(chr, range(128)) if c.isspace())  # what \s is in ASCII
# PLAIN_NUMBER for ASCII bytes (\d and \s read as a str pattern reads them)
PLAIN_NUMBER_BYTES = re.compile(
    PLAIN_NUMBER.pattern.replace("\\d", "0-9").replace("\\s", re.escape(ASCII_SPACE)).encode()
)


def _start(keys: tuple[tuple[str, bytes], ...]) -> None:
    """A pool process's initializer: the key ring it decrypts with."""
    global _ring
    _ring = KeyRing(keys)


def _unescape(field: bytes) -> bytes:
    """A field of COPY's text format as it is (backslash escapes undone)."""
    return COPY_ESCAPE.sub(lambda m: COPY_ESCAPES.get(m[1], m[1]), field)


def _safe(value: bytes) -> bytes:
    """`safe_cell` of a cell's bytes (its rule read on bytes when they are ASCII)."""
    first = value[:1]
    if first not in FORMULA_FIRST:
        return value
    if not value.isascii():
        return safe_cell(value.decode()).encode()
    if first in SIGNS_BYTES and PLAIN_NUMBER_BYTES.match(value):
        return value
    return b"'" + value


def _quoted(value: bytes) -> bytes:
    """`csv_cell` of a cell's bytes."""
    return b'"' + value.replace(b'"', b'""') + b'"' if NEEDS_QUOTES.search(value) else value


def _column(rows: list[list[bytes]], at: int, text: bool) -> None:
    """Cell `at` of each row as the file has it: made safe for a spreadsheet (`text`), then
    quoted as Python's csv writer does (`csv_cell`). A column's cells are looked at joined
    (by NUL, which text never holds) first: most columns of a block need neither, and are
    left as they are."""
    joined = b"\0" + b"\0".join([r[at] for r in rows])
    if text and any(c in joined for c in FORMULA_AFTER):
        for r in rows:
            if r[at][:1] in FORMULA_FIRST:
                r[at] = _safe(r[at])
        joined = b"\0".join([r[at] for r in rows])
    if any(c in joined for c in QUOTED_BYTES):
        for r in rows:
            r[at] = _quoted(r[at])


def open_block(block: bytes, plan: Plan) -> bytes:
    """Whole rows from COPY (text format, nulls as empty fields) as the file's CSV lines (in
    the pool), the bytes of Python's csv writer. Bytes all the way: the ciphertexts and ids
    are ASCII and the rest UTF-8, whose multi-byte characters hold no ASCII byte, so nothing
    is decoded but a cell that needs a change."""
    rows = [line.split(b"\t") for line in block.split(b"\n")]
    rows.pop()  # (after the last row's newline)
    width = plan.width
    sealed = {slot.at for slot in plan.sealed}
    if b"\\" in block:  # a backslash, tab, newline or CR in a cell: COPY escaped it
        for r in rows:
            for at in range(width):
                if at not in sealed and b"\\" in r[at]:
                    r[at] = _unescape(r[at])
    ring = _ring or key_ring()  # (the settings' ring when called outside the pool)
    for slot in plan.sealed:
        at, tenant, row = slot.at, slot.tenant, slot.row
        opened = decrypt_joined(
            [(r[at], r[tenant], r[row]) for r in rows], slot.table, slot.column, ring
        )
        for r, value in zip(rows, opened, strict=True):
            r[at] = value
    text = set(plan.text) | sealed
    for at in range(width):
        _column(rows, at, at in text)
    # (Python's csv writes a row of one empty cell as "")
    lines = [r[0] or b'""' for r in rows] if width == 1 else [b",".join(r[:width]) for r in rows]
    lines.append(b"")
    return b"\n".join(lines)


def pool_size() -> int:
    """A process a core this worker may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


_pool: tuple[KeyRing, ProcessPoolExecutor] | None = None


def pool(ring: KeyRing) -> ProcessPoolExecutor:
    """This worker's pool for `ring` (started now if there is none, or it broke, or it has
    another ring)."""
    global _pool
    if _pool is not None:
        kept, executor = _pool
        if kept == ring and not getattr(executor, "_broken", False):
            return executor
        executor.shutdown(wait=False, cancel_futures=True)
        _pool = None
    executor = ProcessPoolExecutor(
        max_workers=pool_size(),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(ring.keys,),
    )
    _pool = (ring, executor)
    return executor


def _started() -> None:
    """A task that does nothing: one a process makes the pool start them all (see `warm`)."""


def warm(ring: KeyRing) -> None:
    """Have this worker's pool for `ring` start its processes now, without waiting for them:
    a process starts when a task finds none idle, and a spawned one takes a few hundred
    milliseconds to import this module; started at the beginning of an export, they are
    ready when its first encrypted file's rows come."""
    executor = pool(ring)
    for _ in range(pool_size()):  # (processes already there just take them)
        executor.submit(_started)


def close_pool() -> None:
    """Stop this worker's pool (worker shutdown, tests)."""
    global _pool
    if _pool is not None:
        _pool[1].shutdown(wait=True, cancel_futures=True)
        _pool = None
