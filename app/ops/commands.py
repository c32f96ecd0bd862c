"""`odex backup` and `odex restore`: the operator's side of the backups."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.core import db
from app.settings import get_settings

T = TypeVar("T")


def _with_pool(work: Callable[[], Awaitable[T]]) -> T:
    async def wrapped() -> T:
        await db.start_pool(max_size=2)
        try:
            return await work()
        finally:
            await db.close_pool()

    return asyncio.run(wrapped())


def backup_command(list_only: bool) -> None:
    """Take a backup now (kept like the daily ones, then retention applies) or list them."""
    from app.ops.backups import (
        BackupFailed,
        BackupRecord,
        list_backups,
        prune_backups,
        take_backup,
    )

    settings = get_settings()
    if list_only:
        for row in _with_pool(list_backups):
            size = f"{row['size_bytes']:>12,}" if row["size_bytes"] is not None else " " * 12
            print(
                f"{row['id']}  {row['started_at']:%Y-%m-%d %H:%M}  {row['status']:<8}"
                f"  {size}  {row['file_name']}"
            )
        return

    async def work() -> tuple[BackupRecord | None, list[str]]:
        record = await take_backup(settings, "manual")
        pruned = await prune_backups(settings)
        return record, pruned

    async def alerted() -> tuple[BackupRecord | None, list[str]]:
        from app.ops.alerts import raise_operator_alert

        try:
            return await work()
        except BackupFailed as exc:
            await raise_operator_alert("backup_failed", "A manual backup failed", str(exc))
            raise

    try:
        record, pruned = _with_pool(alerted)
    except BackupFailed as exc:
        sys.exit(f"backup failed: {exc}")
    if record is None:  # only a scheduled backup is ever skipped; a manual one always runs
        sys.exit("backup skipped: another backup of this kind is already taken or running")
    print(
        f"backup {record.id}\n  file    {record.file_name}\n  size    {record.size_bytes:,}"
        f" bytes\n  sha256  {record.sha256}"
    )
    for label in record.targets:
        print(f"  stored  {label}")
    if pruned:
        print(f"  pruned  {len(pruned)} older backup(s) by the retention schedule")


def restore_command(source: str, target_url: str) -> None:
    """Restore a backup (register id, file name, or path) into an empty database."""
    from app.ops.restore import RestoreRefused, RestoreResult, restore_backup

    settings = get_settings()

    async def work() -> RestoreResult:
        return await restore_backup(source, target_url, settings)

    try:
        result = _with_pool(work) if settings.database_url else asyncio.run(work())
    except RestoreRefused as exc:
        sys.exit(f"restore refused: {exc}")
    print(f"restored {result.source}: {result.tables} tables")
