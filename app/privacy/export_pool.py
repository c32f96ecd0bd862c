"""The export's decryption pool: processes that turn blocks of an export file's rows, as
PostgreSQL's ``COPY … TO STDOUT`` (text format) wrote them, into the file's CSV lines, their
lists of ciphertexts decrypted (app/core/crypto.py ``decrypt_column``) and made safe for a
spreadsheet (app/core/spreadsheet.py), while the job's event loop only moves bytes.

The query (app/privacy/export_files.py) gives a row's other columns already written as CSV
(by `csv_sql`, the rules of Python's csv writer, so the file is the cursor path's byte for
byte), one field per run of them, then the sealed lists' ciphertexts (joined by spaces) and
the ids they are bound to: a row's work here is a split, the decryptions and a join.

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

from app.core.crypto import KeyRing, decrypt_column
from app.core.spreadsheet import safe_cell


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


def csv_cell(value: str) -> str:
    """A cell as Python's csv writer writes it (quoted when it must be, quotes doubled)."""
    if QUOTED.isdisjoint(value):
        return value
    return '"' + value.replace('"', '""') + '"'


def csv_sql(expr: str) -> str:
    """SQL writing a text value (never null) as `csv_cell` does."""
    checks = " or ".join(f"strpos({expr}, chr({ord(c)})) > 0" for c in sorted(QUOTED - {'"'}))
    return (
        f"case when strpos({expr}, '\"') > 0 then '\"' || replace({expr}, '\"', '\"\"') || '\"'"
        + (f" when {checks} then '\"' || {expr} || '\"'" if checks else "")
        + f" else {expr} end"
    )


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
    """How to turn a block's rows into the file's lines: the first `width` fields, joined by
    commas (the sealed ones' ciphertexts decrypted in place first); the rest, the ids the
    decryption needs, are dropped."""

    width: int
    sealed: tuple[SealedSlot, ...]


_ring: KeyRing | None = None
COPY_ESCAPE = re.compile(r"\\(.)")
COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _start(keys: tuple[tuple[str, bytes], ...]) -> None:
    """A pool process's initializer: the key ring it decrypts with."""
    global _ring
    _ring = KeyRing(keys)


def _unescape(field: str) -> str:
    """A field of COPY's text format as it is (backslash escapes undone)."""
    return COPY_ESCAPE.sub(lambda m: COPY_ESCAPES.get(m[1], m[1]), field)


def open_block(block: bytes, plan: Plan) -> bytes:
    """Whole rows from COPY (text format) as the file's CSV lines (in the pool)."""
    text = block.decode()
    rows = [line.split("\t") for line in text.split("\n")[:-1]]
    sealed = {slot.at for slot in plan.sealed}
    if "\\" in text:  # a backslash, tab, newline or CR in a cell: COPY escaped it
        runs = [at for at in range(plan.width) if at not in sealed]
        for r in rows:
            for at in runs:
                if "\\" in r[at]:
                    r[at] = _unescape(r[at])
    for slot in plan.sealed:
        cells = ((None if r[slot.at] in ("", "\\N") else r[slot.at].split(" "), r[slot.tenant],
                  r[slot.row]) for r in rows)  # fmt: skip
        opened = decrypt_column(cells, slot.table, slot.column, ring=_ring)
        for r, values in zip(rows, opened, strict=True):
            r[slot.at] = csv_cell(safe_cell("; ".join(values)))
    width = plan.width
    lines = [",".join(r[:width]) for r in rows]
    if width == 1:  # Python's csv writes a row of one empty cell as ""
        lines = [line or '""' for line in lines]
    return "".join(line + "\n" for line in lines).encode()


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
