"""Moving attachments' bytes to where new files go (`odex attachments migrate-storage`): from
the data dir into ATTACHMENTS_S3_BUCKET, or from ATTACHMENTS_S3_FORMER_BUCKET into it.

File by file: the encrypted bytes are copied as they are (their binding names the workspace,
the attachment and the part, never the place), read back from the destination and compared
(size and SHA-256), then the row says the new place, then the source copy is deleted. Downloads
read from where the row says (and look in the other places too), so they work throughout. A
run stopped anywhere leaves every file readable; the next run finishes the work (rows not yet
switched are copied again over the same names; sources left behind by a switched row are
deleted at the end of each workspace). One run at a time, under a lease (app/core/lease.py);
a run killed mid-way is resumed by a worker once its lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from uuid import UUID

import msgspec

from app.attachments import queries, store
from app.core.crypto import all_tenant_ids
from app.core.db import tenant_transaction
from app.core.lease import leased

log = logging.getLogger("odex.attachments")

MOVE_JOB = "migrate_attachment_storage"
Say = Callable[[str], None]


class Moved(msgspec.Struct, kw_only=True):
    """What a run did in one workspace (or in all of them, summed)."""

    moved: int = 0  # rows switched to the destination
    missing: int = 0  # rows whose bytes are in no known place (left as they are)
    elsewhere: int = 0  # rows saying a place not configured now (left as they are)
    cleaned: int = 0  # source copies deleted at the end (left by a run stopped before)

    def add(self, other: Moved) -> None:
        self.moved += other.moved
        self.missing += other.missing
        self.elsewhere += other.elsewhere
        self.cleaned += other.cleaned


async def _move_one(tenant_id: UUID, row: queries.Placed, dest: str) -> bool | None:
    """Move one attachment's parts to `dest` and switch its row: True when moved, None when
    its bytes are nowhere (the row is left as it is)."""
    sources = [loc for loc in store.places_of(row.stored_in) if loc != dest]
    parts = store.PARTS if row.has_thumbnail else ("file",)
    copied: list[tuple[str, str]] = []  # (part, the place it came from)
    for part in parts:
        source = await asyncio.to_thread(store.copy_part, tenant_id, row.id, part, sources, dest)
        if source is not None:
            copied.append((part, source))
        elif not await asyncio.to_thread(store.holds, dest, tenant_id, row.id, part):
            return None
    async with tenant_transaction(tenant_id) as conn:
        switched = await queries.move_row(conn, row.id, row.stored_in, dest)
        gone = not switched and await queries.attachment(conn, row.id) is None
    if gone:  # deleted while it was copied: its bytes must not stay anywhere
        await asyncio.to_thread(store.remove, tenant_id, row.id)
        return True
    for part, source in copied:
        await asyncio.to_thread(store.delete_part, source, tenant_id, row.id, part)
    return True


async def move_workspace(tenant_id: UUID, dest: str, say: Say) -> Moved:
    """Move one workspace's files to `dest`, telling the progress as it goes."""
    done = Moved()
    async with tenant_transaction(tenant_id) as conn:
        listed = await queries.not_in(conn, dest)
        already = await queries.count_in(conn, dest)
    known = store.known_places()
    rows = [r for r in listed if r.stored_in is None or r.stored_in in known]
    others = sorted({r.stored_in for r in listed if r.stored_in and r.stored_in not in known})
    done.elsewhere = len(listed) - len(rows)
    if others:  # its credentials and endpoint are not known: name it as the former bucket
        say(
            f"workspace {tenant_id}: {done.elsewhere} files are in {', '.join(others)}, which"
            " is not configured now: set ATTACHMENTS_S3_FORMER_BUCKET to it to move them"
        )
    total = already + len(rows)
    step = max(1, len(rows) // 10)
    for index, row in enumerate(rows, 1):
        if await _move_one(tenant_id, row, dest) is None:
            done.missing += 1
            say(f"workspace {tenant_id}: attachment {row.id} is in no known place; left as is")
        else:
            done.moved += 1
        if index % step == 0 or index == len(rows):
            say(f"workspace {tenant_id}: {already + done.moved}/{total} files in {dest}")
    async with tenant_transaction(tenant_id) as conn:
        moved = await queries.placed_in(conn, dest)
    done.cleaned = await asyncio.to_thread(store.remove_moved, tenant_id, dest, moved)
    if not rows:
        say(f"workspace {tenant_id}: {total}/{total} files in {dest}")
    return done


@leased(MOVE_JOB, repeatable=True, skipped=None)
async def migrate_attachment_storage(ctx: dict[str, object] | None) -> dict[str, int] | None:
    """Move every workspace's files to where new files go (see the module). `ctx["say"]` gets
    the progress lines (a worker resuming a stopped run logs them); None when another run
    holds the lease."""
    wanted = (ctx or {}).get("say")
    say: Say = wanted if callable(wanted) else log.info
    dest = store.here()
    total = Moved()
    for tenant_id in sorted(await all_tenant_ids()):
        total.add(await move_workspace(tenant_id, dest, say))
    return msgspec.structs.asdict(total)


def migrate_storage_command() -> int:
    """`odex attachments migrate-storage`: run the move now, printing each workspace's
    progress; the exit status is 1 when another run holds the lease or files were missing."""
    from app.core import db

    async def run() -> dict[str, int] | None:
        await db.start_pool(max_size=2)
        try:
            return await migrate_attachment_storage({"say": print})
        finally:
            await db.close_pool()

    print(f"moving attachments to {store.here()}")
    result = asyncio.run(run())
    if result is None:
        print("another run is moving the files now: try again once it has finished")
        return 1
    print(
        f"done: {result['moved']} moved, {result['cleaned']} left-over copies deleted,"
        f" {result['missing']} missing, {result['elsewhere']} in places not configured"
    )
    return 1 if result["missing"] or result["elsewhere"] else 0
