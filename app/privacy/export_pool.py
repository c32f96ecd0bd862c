"""The export's decryption pool: processes that turn blocks of an export file's rows, as
PostgreSQL's ``COPY … TO STDOUT (FORMAT csv)`` wrote them, into the file's CSV lines, their
lists of ciphertexts decrypted (app/core/crypto.py ``decrypt_column``) and made safe for a
spreadsheet (app/core/spreadsheet.py), while the job's event loop only moves bytes.

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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from app.core.crypto import KeyRing, decrypt_column
from app.core.spreadsheet import safe_cell


@dataclass(frozen=True)
class SealedSlot:
    """Where a block's row holds a sealed column's ciphertexts (joined with ','), its
    workspace and its row id, and what the ciphertexts are bound to."""

    at: int
    tenant: int
    row: int
    table: str
    column: str


@dataclass(frozen=True)
class Plan:
    """How to turn a block's rows into the file's lines: the first `width` fields are the
    file's columns (the sealed ones' ciphertexts then decrypted in place); the rest, the ids
    the decryption needs, are dropped."""

    width: int
    sealed: tuple[SealedSlot, ...]


_ring: KeyRing | None = None


def _start(keys: tuple[tuple[str, bytes], ...]) -> None:
    """A pool process's initializer: the key ring it decrypts with."""
    global _ring
    _ring = KeyRing(keys)
    csv.field_size_limit(2**31 - 1)  # a long text cell is a cell too


def open_block(block: bytes, plan: Plan) -> bytes:
    """Whole CSV rows from COPY (no header) as the file's CSV lines (in the pool)."""
    rows = list(csv.reader(io.StringIO(block.decode(), newline="")))
    for slot in plan.sealed:
        cells = ((r[slot.at].split(",") if r[slot.at] else None, r[slot.tenant], r[slot.row])
                 for r in rows)  # fmt: skip
        opened = decrypt_column(cells, slot.table, slot.column, ring=_ring)
        for r, values in zip(rows, opened, strict=True):
            r[slot.at] = safe_cell("; ".join(values))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(r[: plan.width] if len(r) > plan.width else r for r in rows)
    return out.getvalue().encode()


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


def close_pool() -> None:
    """Stop this worker's pool (worker shutdown, tests)."""
    global _pool
    if _pool is not None:
        _pool[1].shutdown(wait=True, cancel_futures=True)
        _pool = None
