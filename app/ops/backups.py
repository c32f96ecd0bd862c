"""Daily encrypted backups: pg_dump → AES-256-GCM → every target, the register, retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg

from app.core.db import global_transaction
from app.ops import queries
from app.ops.backup_crypto import (
    BackupCorrupt,
    BackupKeyMissing,
    decode_key,
    decrypt_stream,
    encrypt_stream,
    key_id,
)
from app.ops.pgtools import backup_url, find_tool, libpq_args
from app.ops.restore import backup_keys, file_sha256
from app.ops.tables import Backup
from app.ops.targets import BackupTarget, configured_targets
from app.settings import Settings

log = logging.getLogger("odex.backups")

SUFFIX = ".odexbak"
# pg_dump runs below the app's CPU priority: on a machine it shares with the web processes (or
# with PostgreSQL, as the embedded setup does), the daily dump takes the CPU they leave. The
# R8 soak after the other benches measured 185 writes/s of 200 while a dump of their 1M
# contacts ran beside it at full priority. (The PostgreSQL backend that serves the dump is
# PostgreSQL's own process and keeps its priority.)
DUMP_NICENESS = 10
# A backup still 'running' after this long was interrupted (worker killed): it no longer
# blocks the day's backup. Longer than the cron job's timeout (BACKUP_TIMEOUT).
BACKUP_TIMEOUT = timedelta(hours=1)
STALE_AFTER = BACKUP_TIMEOUT + timedelta(minutes=10)


class BackupFailed(RuntimeError):
    """A backup could not be taken or stored; the register row says why."""


@dataclass(frozen=True)
class Retention:
    """How many of the newest daily, weekly (ISO week) and monthly backups are kept."""

    daily: int = 7
    weekly: int = 4
    monthly: int = 6

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(
            settings.backup_keep_daily, settings.backup_keep_weekly, settings.backup_keep_monthly
        )


@dataclass(frozen=True)
class BackupRecord:
    """A finished backup as the register holds it."""

    id: uuid.UUID
    file_name: str
    size_bytes: int
    sha256: str
    targets: list[str]


def backups_to_keep(backups: list[tuple[uuid.UUID, datetime]], policy: Retention) -> set[uuid.UUID]:
    """Grandfather-father-son: the newest backup of each of the newest `daily` days,
    `weekly` ISO weeks and `monthly` months that have one. The newest is always kept.
    """
    ordered = sorted(backups, key=lambda item: item[1], reverse=True)
    buckets: list[tuple[int, Callable[[datetime], Hashable]]] = [
        (policy.daily, lambda at: at.date()),
        (policy.weekly, lambda at: at.isocalendar()[:2]),
        (policy.monthly, lambda at: (at.year, at.month)),
    ]
    keep = {ordered[0][0]} if ordered else set()
    for count, bucket_of in buckets:
        seen: set[Hashable] = set()
        for backup_id, at in ordered:
            if len(seen) >= count:
                break
            bucket = bucket_of(at)
            if bucket not in seen:
                seen.add(bucket)
                keep.add(backup_id)
    return keep


def _niced(command: list[str]) -> list[str]:
    """`command` under `nice -n DUMP_NICENESS` (as it is where there is no `nice`)."""
    nice = shutil.which("nice")
    return [nice, "-n", str(DUMP_NICENESS), *command] if nice else command


def _dump_encrypted(pg_dump: str, url: str, key: bytes, out: Path) -> tuple[int, str]:
    """Stream `pg_dump --format=custom` through the encryptor into `out` (blocking)."""
    dbname, env = libpq_args(url)
    with out.open("wb") as target, tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            _niced([pg_dump, "--format=custom", "--no-password", f"--dbname={dbname}"]),
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
        )
        assert proc.stdout is not None
        try:
            size, digest = encrypt_stream(proc.stdout, target, key)
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            detail = errors.read().decode("utf-8", "replace").strip()[-1000:]
            raise BackupFailed(f"pg_dump exited with {code}: {detail}")
        target.flush()
        os.fsync(target.fileno())
    return size, digest


class _Discard:
    """A sink for decrypted bytes: verification only needs every tag to check out."""

    def write(self, data: bytes) -> int:
        return len(data)


def verify_copy(target: BackupTarget, name: str, sha256: str, keys: list[bytes]) -> str | None:
    """Read a target's copy back: it must exist, match the register's SHA-256 and decrypt with
    every chunk authenticated. Returns what is wrong, or None (blocking: run in a thread)."""
    with tempfile.TemporaryDirectory(prefix="odex-verify-") as scratch:
        path = Path(scratch) / name
        try:
            target.fetch(name, path)
        except FileNotFoundError:
            return "missing"
        except Exception as exc:  # an unreachable bucket: say so, don't crash the job
            return f"can't be read: {exc}"
        if file_sha256(path) != sha256:
            return "its SHA-256 differs from the register"
        try:
            with path.open("rb") as source:
                decrypt_stream(source, _Discard(), keys)  # type: ignore[arg-type]
        except (BackupCorrupt, BackupKeyMissing) as exc:
            return str(exc)
    return None


async def server_major() -> int:
    async with global_transaction() as conn:
        return await queries.server_version_num(conn)


async def take_backup(
    settings: Settings, kind: str = "manual", targets: list[BackupTarget] | None = None
) -> BackupRecord | None:
    """Dump, encrypt and store a backup in every target; record it in `backups`.

    Returns None when `kind` is 'scheduled' and the day's backup is already taken or running
    (the register's unique index decides, so two workers never both take it).
    """
    targets = configured_targets(settings) if targets is None else targets
    if settings.is_production and len(targets) < 2:
        raise BackupFailed("configure two backup targets (BACKUP_DIRS / BACKUP_S3_BUCKET)")
    if not targets:
        raise BackupFailed("no backup target configured (BACKUP_DIRS / BACKUP_S3_BUCKET)")
    if not settings.backup_key:
        raise BackupFailed("BACKUP_KEY is not set")
    key = decode_key(settings.backup_key)
    started = datetime.now(UTC)
    backup_id = uuid.uuid4()
    name = f"odex-{started:%Y%m%dT%H%M%SZ}-{kind}-{backup_id.hex[:8]}{SUFFIX}"
    try:
        async with global_transaction():
            await Backup.insert(
                Backup(
                    id=backup_id,
                    kind=kind,
                    backup_day=started.date(),
                    status="running",
                    file_name=name,
                    targets=[],
                    started_at=started,
                )
            )
    except asyncpg.UniqueViolationError:
        return None  # another worker has today's scheduled backup
    stored: list[BackupTarget] = []
    try:
        pg_dump = find_tool("pg_dump", settings.pg_dump, await server_major() // 10000)
        with tempfile.TemporaryDirectory(prefix="odex-backup-") as scratch:
            path = Path(scratch) / name
            size, digest = await asyncio.to_thread(
                _dump_encrypted, pg_dump, backup_url(settings), key, path
            )
            for target in targets:
                await asyncio.to_thread(target.put, name, path)
                stored.append(target)
        keys = backup_keys(settings)
        for target in targets:  # read every copy back before counting the backup as taken
            problem = await asyncio.to_thread(verify_copy, target, name, digest, keys)
            if problem:
                raise BackupFailed(f"the copy in {target.label} does not verify: {problem}")
    except Exception as exc:
        for target in stored:  # a backup counts only when every target holds it
            with contextlib.suppress(Exception):
                await asyncio.to_thread(target.delete, name)
        async with global_transaction():
            await Backup.update(
                {
                    Backup.status: "failed",
                    Backup.error: str(exc)[:2000],
                    Backup.finished_at: datetime.now(UTC),
                }
            ).where(Backup.id == backup_id)
        log.exception("backup %s failed", name)
        if isinstance(exc, BackupFailed):
            raise
        raise BackupFailed(str(exc)) from exc
    labels = [target.label for target in targets]
    async with global_transaction():
        await Backup.update(
            {
                Backup.status: "complete",
                Backup.size_bytes: size,
                Backup.sha256: digest,
                Backup.key_id: key_id(key).hex(),
                Backup.targets: labels,
                Backup.finished_at: datetime.now(UTC),
                Backup.verified_at: datetime.now(UTC),
            }
        ).where(Backup.id == backup_id)
    log.info("backup %s: %d bytes, sha256 %s, in %s", name, size, digest, ", ".join(labels))
    return BackupRecord(backup_id, name, size, digest, labels)


async def release_stale(now: datetime, *, holding_lease: bool = False) -> int:
    """Mark backups left 'running' by a killed worker as failed, so the day can be retried.

    The daily job runs under a lease (app/core/lease.py): while it holds it, no other scheduled
    backup can be running, so any scheduled one still 'running' is a dead worker's at once.
    """
    too_old = Backup.started_at < now - STALE_AFTER
    stale = (Backup.status == "running") & (
        (too_old | (Backup.kind == "scheduled")) if holding_lease else too_old
    )
    async with global_transaction():
        rows = (
            await Backup.update(
                {Backup.status: "failed", Backup.error: "interrupted", Backup.finished_at: now}
            )
            .where(stale)
            .returning(Backup.id)
        )
    return len(rows)


async def has_backup_for(day: date) -> bool:
    """Has the scheduled backup of `day` happened (or is it running right now)?"""
    async with global_transaction():
        return bool(
            await Backup.exists().where(
                (Backup.backup_day == day)
                & (Backup.kind == "scheduled")
                & Backup.status.is_in(["running", "complete"])
            )
        )


async def prune_backups(settings: Settings, targets: list[BackupTarget] | None = None) -> list[str]:
    """Apply the retention schedule, keeping the newest *verified* copy in each target.

    Every copy the schedule keeps is read back (it must exist, match its SHA-256 and decrypt);
    a copy that doesn't raises an operator alert. In each target the newest copy that verifies
    is never deleted, even when the schedule would prune it, so a target always holds one good
    backup. Erased customer data leaves the backups here: once every backup taken before an
    erasure is pruned, no copy of it is left.
    """
    from app.ops.alerts import raise_operator_alert

    targets = configured_targets(settings) if targets is None else targets
    async with global_transaction():
        rows = await Backup.select(
            Backup.id, Backup.file_name, Backup.started_at, Backup.sha256, Backup.targets
        ).where(Backup.status == "complete")
    rows.sort(key=lambda r: r["started_at"], reverse=True)
    keep = backups_to_keep(
        [(row["id"], row["started_at"]) for row in rows], Retention.from_settings(settings)
    )
    keys = backup_keys(settings)
    anchors: dict[str, UUID] = {}  # target label -> the newest copy there that verifies
    problems: list[str] = []
    for target in targets:
        for row in (r for r in rows if target.label in (r["targets"] or [])):
            if row["id"] not in keep and target.label in anchors:
                continue  # will be pruned, and this target already has a good copy
            problem = await asyncio.to_thread(
                verify_copy, target, row["file_name"], row["sha256"], keys
            )
            if problem:
                problems.append(f"{row['file_name']} in {target.label}: {problem}")
            elif target.label not in anchors:
                anchors[target.label] = row["id"]
    pruned = []
    for row in rows:
        if row["id"] in keep:
            continue
        holding = [t for t in targets if anchors.get(t.label) == row["id"]]
        for target in targets:
            if target not in holding:
                await asyncio.to_thread(target.delete, row["file_name"])
        async with global_transaction():
            if holding:  # the newest good copy of some target: it stays there only
                await Backup.update({Backup.targets: [t.label for t in holding]}).where(
                    Backup.id == row["id"]
                )
                continue
            await Backup.update(
                {Backup.status: "pruned", Backup.pruned_at: datetime.now(UTC)}
            ).where(Backup.id == row["id"])
        pruned.append(str(row["file_name"]))
    verified = [r["id"] for r in rows if r["id"] in keep]
    if verified:
        async with global_transaction():
            await Backup.update(
                {Backup.verified_at: datetime.now(UTC), Backup.verify_error: None}
            ).where(Backup.id.is_in(verified))
    if problems:
        await raise_operator_alert(
            "backup_unverifiable",
            f"{len(problems)} kept backup cop{'y does' if len(problems) == 1 else 'ies do'} not"
            " verify",
            "\n".join(problems),
        )
        async with global_transaction():
            for line in problems:
                name = line.split(" in ", 1)[0]
                await Backup.update({Backup.verify_error: line}).where(Backup.file_name == name)
    for target in targets:
        if target.label not in anchors and any(target.label in (r["targets"] or []) for r in rows):
            await raise_operator_alert(
                "backup_unverifiable",
                f"No backup in {target.label} verifies",
                "Every copy this target should hold is missing or corrupt: check it now.",
            )
    return pruned


async def run_scheduled_backup(
    settings: Settings, now: datetime | None = None, *, holding_lease: bool = False
) -> str:
    """The cron job's work: take today's backup unless it happened, then prune.

    arq does not catch up cron runs missed while no worker was up (DESIGN §11), so the job runs
    every hour and checks the register itself: the first run after BACKUP_HOUR takes it.
    """
    now = now or datetime.now(UTC)
    if now.hour < settings.backup_hour:
        return "not due yet"
    await release_stale(now, holding_lease=holding_lease)
    if await has_backup_for(now.date()):
        return "already taken today"
    record = await take_backup(settings, "scheduled")
    if record is None:
        return "taken by another worker"
    pruned = await prune_backups(settings)
    return f"backup {record.file_name}; pruned {len(pruned)}"


async def list_backups(limit: int = 50) -> list[dict[str, object]]:
    """The newest entries of the register (for `odex backup --list`)."""
    async with global_transaction():
        return list(await Backup.select().order_by(Backup.started_at, ascending=False).limit(limit))
