"""`odex restore`: fetch a backup, verify and decrypt it, pg_restore it into an EMPTY database."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from app.core.db import global_transaction
from app.ops import queries
from app.ops.backup_crypto import BackupCorrupt, BackupKeyMissing, decode_key, decrypt_stream
from app.ops.pgtools import find_tool, libpq_args
from app.ops.tables import Backup
from app.ops.targets import BackupTarget, configured_targets
from app.settings import Settings


class RestoreRefused(RuntimeError):
    """The restore was not attempted or did not complete; the message says why."""


@dataclass(frozen=True)
class RestoreResult:
    source: str
    tables: int


def backup_keys(settings: Settings) -> list[bytes]:
    """BACKUP_KEY first, then every key in BACKUP_OLD_KEYS (backups made before a rotation)."""
    values = [settings.backup_key, *settings.backup_old_keys.split(",")]
    return [decode_key(value) for value in values if value.strip()]


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


async def _fetch_recorded(
    source: str, targets: list[BackupTarget], scratch: Path
) -> tuple[Path, str]:
    """A register entry (id or file name): the first target copy whose SHA-256 matches."""
    try:
        wanted = Backup.id == uuid.UUID(source)
    except ValueError:
        wanted = Backup.file_name == source
    async with global_transaction():
        row = await Backup.select().where(wanted).first()
    if row is None:
        raise RestoreRefused(f"no backup {source!r} in the register (give a file path instead)")
    if row["status"] != "complete":
        raise RestoreRefused(f"backup {row['file_name']} is {row['status']}, not complete")
    path = scratch / row["file_name"]
    problems = []
    for target in targets:
        try:
            await asyncio.to_thread(target.fetch, row["file_name"], path)
        except FileNotFoundError:
            problems.append(f"{target.label}: missing")
            continue
        if await asyncio.to_thread(file_sha256, path) == row["sha256"]:
            return path, f"{target.label}/{row['file_name']}"
        problems.append(f"{target.label}: checksum differs from the register")
    raise RestoreRefused("no intact copy of the backup: " + "; ".join(problems))


async def ensure_empty(target_url: str) -> None:
    """Refuse a database that holds any table, sequence or view of its own."""
    try:
        conn = await asyncpg.connect(target_url)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RestoreRefused(f"cannot connect to the target database: {exc}") from exc
    try:
        count = await queries.user_relation_count(conn)
    finally:
        await conn.close()
    if count:
        raise RestoreRefused(
            f"the target database is not empty ({count} relations): restore only into a new, "
            "empty database"
        )


def _pg_restore(pg_restore: str, target_url: str, dump: Path) -> None:
    dbname, env = libpq_args(target_url)
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            pg_restore,
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={dbname}",
            str(dump),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RestoreRefused(f"pg_restore failed: {result.stderr.strip()[-1500:]}")


async def restore_backup(
    source: str,
    target_url: str,
    settings: Settings,
    targets: list[BackupTarget] | None = None,
) -> RestoreResult:
    """Restore `source` (a backup id or file name from the register, or a file path).

    Every chunk is authenticated before pg_restore sees a byte: the whole file is decrypted to
    a private scratch file first, so a tampered or truncated backup is refused outright and
    the target stays empty. pg_restore runs in one transaction: all or nothing.
    """
    await ensure_empty(target_url)
    keys = backup_keys(settings)
    if not keys:
        raise RestoreRefused("BACKUP_KEY is not set")
    targets = configured_targets(settings) if targets is None else targets
    with tempfile.TemporaryDirectory(prefix="odex-restore-") as tmp:
        scratch = Path(tmp)
        given = Path(source)
        if await asyncio.to_thread(given.is_file):
            encrypted, label = given, str(given)
        else:
            encrypted, label = await _fetch_recorded(source, targets, scratch)
        dump = scratch / "restore.dump"

        def decrypt() -> None:
            with encrypted.open("rb") as src, dump.open("wb") as out:
                decrypt_stream(src, out, keys)

        try:
            await asyncio.to_thread(decrypt)
        except (BackupCorrupt, BackupKeyMissing) as exc:
            raise RestoreRefused(f"{label} is not an intact backup: {exc}") from exc
        conn = await asyncpg.connect(target_url)
        try:
            major = await queries.server_version_num(conn)
        finally:
            await conn.close()
        pg_restore = find_tool("pg_restore", settings.pg_restore, major // 10000)
        await asyncio.to_thread(_pg_restore, pg_restore, target_url, dump)
    conn = await asyncpg.connect(target_url)
    try:
        tables = await queries.user_table_count(conn)
    finally:
        await conn.close()
    return RestoreResult(label, tables)
