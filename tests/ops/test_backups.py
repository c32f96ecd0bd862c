"""Encrypted backups: round trip into a fresh database, tamper refusal, two places, retention."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
import pytest

from app.accounts.tables import Invitation
from app.core.db import global_transaction, tenant_transaction
from app.core.embedded import APP_ROLE, OWNER_ROLE, create_roles_and_database
from app.notifications.services import notify
from app.ops.backups import (
    BackupFailed,
    Retention,
    backups_to_keep,
    prune_backups,
    run_scheduled_backup,
    take_backup,
)
from app.ops.restore import RestoreRefused, restore_backup
from app.ops.tables import Backup
from app.ops.targets import DirectoryTarget
from app.settings import Settings, get_settings
from tests.helpers import Account


def db_url(url: str, user: str, database: str) -> str:
    """`url` pointed at another database as another role (same server)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}", path=f"/{database}"))


def admin_url(services: dict[str, str]) -> Callable[[str], str]:
    """A superuser URL for any database on the test server."""
    if os.environ.get("TEST_DATABASE_URL"):
        base = os.environ["TEST_DATABASE_URL"].rsplit("/", 1)[0]
        return lambda database: f"{base}/{database}"
    return lambda database: db_url(services["MIGRATION_DATABASE_URL"], "postgres", database)


@pytest.fixture
def settings(tmp_path: Path, services: dict[str, str]) -> Settings:
    """The test settings with two fresh backup directories (the default two targets)."""
    dirs = f"{tmp_path / 'site-a'},{tmp_path / 'site-b'}"
    return msgspec.structs.replace(get_settings(), backup_dirs=dirs, backup_hour=0)


@pytest.fixture
async def empty_db(services: dict[str, str]) -> AsyncIterator[str]:
    """A new, empty database on the same server, owned by odex_owner; dropped afterwards."""
    admin = admin_url(services)
    name = f"odex_restore_{uuid.uuid4().hex[:10]}"
    await create_roles_and_database(admin, name)
    yield db_url(services["MIGRATION_DATABASE_URL"], OWNER_ROLE, name)
    conn = await asyncpg.connect(admin("postgres"))
    try:
        await conn.execute(f'drop database "{name}" with (force)')
    finally:
        await conn.close()


async def seed(account: Account, invitee: str) -> None:
    async with tenant_transaction(account.tenant_id):
        await Invitation.insert(
            Invitation(
                id=uuid.uuid4(),
                tenant_id=account.tenant_id,
                email=invitee,
                role="member",
                invited_by=account.user_id,
                expires_at=datetime.now(UTC) + timedelta(days=7),
            )
        )
        await notify(account.tenant_id, account.user_id, "test", f"Hello {invitee}")


async def row_counts(url: str) -> dict[str, int]:
    """Rows of every table in the public schema, counted as superuser (RLS does not apply)."""
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "select tablename from pg_tables where schemaname = 'public' order by 1"
            )
        ]
        return {t: int(await conn.fetchval(f'select count(*) from "{t}"')) for t in tables}
    finally:
        await conn.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_backup_restores_into_a_fresh_database_with_every_row(
    services: dict[str, str],
    settings: Settings,
    empty_db: str,
    tenant_a: Account,
    tenant_b: Account,
) -> None:
    await seed(tenant_a, "alice@a.example")
    await seed(tenant_b, "bob@b.example")
    record = await take_backup(settings, "manual")
    assert record is not None
    # two places, identical, recorded with size and checksum
    copies = [Path(d) / record.file_name for d in settings.backup_dirs.split(",")]
    assert all(copy.exists() for copy in copies)
    assert {sha256(copy) for copy in copies} == {record.sha256}
    assert copies[0].stat().st_size == record.size_bytes
    async with global_transaction():
        row = await Backup.select().where(Backup.id == record.id).first()
    assert row is not None and row["status"] == "complete"
    assert (row["size_bytes"], row["sha256"]) == (record.size_bytes, record.sha256)
    assert len(row["targets"]) == 2
    # encrypted: the dump's own header and table names are not readable
    data = copies[0].read_bytes()
    assert data.startswith(b"ODEXBAK1") and b"PGDMP" not in data and b"invitations" not in data

    source_admin = admin_url(services)(urlsplit(services["DATABASE_URL"]).path.lstrip("/"))
    before = await row_counts(source_admin)
    result = await restore_backup(str(record.id), empty_db, settings)
    assert result.tables == len(before)
    after = await row_counts(admin_url(services)(urlsplit(empty_db).path[1:]))
    # every table, every row (the register's row for this backup was dumped as 'running')
    assert after == before
    assert before["tenants"] >= 2 and before["invitations"] >= 2

    # row-level security came back with the data: the app role sees only the tenant it sets
    app_conn = await asyncpg.connect(db_url(empty_db, APP_ROLE, urlsplit(empty_db).path[1:]))
    try:
        assert await app_conn.fetchval("select count(*) from invitations") == 0
        async with app_conn.transaction():
            await app_conn.execute(
                "select set_config('app.tenant_id', $1, true)", str(tenant_a.tenant_id)
            )
            emails = await app_conn.fetch("select email from invitations")
        assert [r["email"] for r in emails] == ["alice@a.example"]
    finally:
        await app_conn.close()

    # a database with tables in it is refused
    with pytest.raises(RestoreRefused, match="not empty"):
        await restore_backup(str(record.id), empty_db, settings)


async def test_tampered_backup_is_refused_and_the_intact_copy_is_used(
    services: dict[str, str],
    settings: Settings,
    empty_db: str,
    tenant_a: Account,
    tenant_b: Account,
    tmp_path: Path,
) -> None:
    await seed(tenant_a, "carol@a.example")
    await seed(tenant_b, "dave@b.example")
    record = await take_backup(settings, "manual")
    assert record is not None
    first, second = (Path(d) / record.file_name for d in settings.backup_dirs.split(","))
    tampered = bytearray(first.read_bytes())
    tampered[len(tampered) // 2] ^= 0x01  # one flipped bit in the ciphertext
    first.write_bytes(bytes(tampered))

    loose = tmp_path / "loose.odexbak"
    loose.write_bytes(bytes(tampered))
    with pytest.raises(RestoreRefused, match="authentication tag"):
        await restore_backup(str(loose), empty_db, settings)
    truncated = tmp_path / "cut.odexbak"
    truncated.write_bytes(second.read_bytes()[:-100])
    with pytest.raises(RestoreRefused, match="authentication tag"):
        await restore_backup(str(truncated), empty_db, settings)
    as_admin = admin_url(services)(urlsplit(empty_db).path[1:])
    assert await row_counts(as_admin) == {}  # nothing was restored

    # by id: the first site's copy fails its checksum, the second site's copy is restored
    result = await restore_backup(record.file_name, empty_db, settings)
    assert result.source.startswith(f"dir:{second.parent}")
    assert (await row_counts(as_admin))["invitations"] >= 2


def test_retention_keeps_7_daily_4_weekly_6_monthly() -> None:
    today = datetime(2026, 11, 25, 2, 17, tzinfo=UTC)
    history = [(uuid.uuid4(), today - timedelta(days=n)) for n in range(400)]
    when = dict(history)
    kept = sorted(when[i] for i in backups_to_keep(history, Retention(7, 4, 6)))
    days = {at.date() for at in kept}
    assert {(today - timedelta(days=n)).date() for n in range(7)} <= days
    # the last backup of each of the 4 newest ISO weeks and the 6 newest months
    sundays = {datetime(2026, 11, d).date() for d in (15, 8)}  # weeks 46, 45 (47, 48: daily)
    month_ends = {datetime(2026, m, 30 if m in (6, 9) else 31).date() for m in (6, 7, 8, 9, 10)}
    assert sundays <= days and month_ends <= days
    assert min(kept) >= datetime(2026, 6, 1, tzinfo=UTC)
    assert len(kept) == 7 + 2 + 5  # week 48 and November fall inside the daily ones
    assert backups_to_keep([], Retention(0, 0, 0)) == set()
    assert backups_to_keep(history[:3], Retention(0, 0, 0)) == {history[0][0]}


async def test_prune_deletes_expired_backups_from_every_target(
    settings: Settings, tmp_path: Path
) -> None:
    targets = [DirectoryTarget(Path(d)) for d in settings.backup_dirs.split(",")]
    source = tmp_path / "payload"
    source.write_bytes(b"ciphertext")
    old_ids = []
    async with global_transaction():
        for n in range(1, 60):  # one backup a day for the last two months, a year ago
            at = datetime.now(UTC) - timedelta(days=365 + n)
            backup_id = uuid.uuid4()
            name = f"test-prune-{backup_id.hex}.odexbak"
            await Backup.insert(
                Backup(
                    id=backup_id,
                    kind="manual",
                    backup_day=at.date(),
                    status="complete",
                    file_name=name,
                    size_bytes=10,
                    sha256="0" * 64,
                    targets=[],
                    started_at=at,
                    finished_at=at,
                )
            )
            for target in targets:
                target.put(name, source)
            old_ids.append(backup_id)
        complete = await Backup.select(Backup.id, Backup.started_at).where(
            Backup.status == "complete"
        )
    expected = backups_to_keep(
        [(r["id"], r["started_at"]) for r in complete], Retention.from_settings(settings)
    )
    pruned = await prune_backups(settings)
    async with global_transaction():
        rows = await Backup.select(Backup.id, Backup.status, Backup.file_name).where(
            Backup.id.is_in(old_ids)
        )
    assert set(old_ids) - expected and set(old_ids) & expected  # some expire, some stay
    assert {r["file_name"] for r in rows if r["id"] not in expected} <= set(pruned)
    for row in rows:
        on_disk = [(t.path / row["file_name"]).exists() for t in targets]
        if row["id"] in expected:
            assert row["status"] == "complete" and on_disk == [True, True]
        else:
            assert row["status"] == "pruned" and on_disk == [False, False]


async def test_scheduled_backup_runs_once_a_day(settings: Settings) -> None:
    from app.worker import WorkerSettings

    assert any(job.name.endswith("daily_backup") for job in WorkerSettings.cron_jobs)
    later = msgspec.structs.replace(settings, backup_hour=24)
    assert await run_scheduled_backup(later) == "not due yet"
    first = await run_scheduled_backup(settings)
    assert first.startswith("backup odex-")
    assert await run_scheduled_backup(settings) == "already taken today"
    async with global_transaction():
        today = await Backup.select(Backup.status, Backup.file_name).where(
            (Backup.kind == "scheduled") & (Backup.backup_day == datetime.now(UTC).date())
        )
    # an earlier test's scheduled backups of today may have been pruned since (retention):
    # those don't count as "taken today"; exactly one kept backup does, the one just taken
    kept = [r for r in today if r["status"] != "pruned"]
    assert [r["status"] for r in kept] == ["complete"]
    assert kept[0]["file_name"] in first
    for directory in settings.backup_dirs.split(","):
        assert (Path(directory) / kept[0]["file_name"]).exists()


async def test_s3_compatible_target_holds_a_copy(
    settings: Settings, tenant_a: Account, tenant_b: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto import mock_aws

    from app.ops.targets import S3Target, configured_targets

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        s3_settings = msgspec.structs.replace(
            settings,
            backup_dirs=settings.backup_dirs.split(",")[0],
            backup_s3_bucket="odex-offsite",
            backup_s3_region="us-east-1",
        )
        targets = configured_targets(s3_settings)
        assert [type(t).__name__ for t in targets] == ["DirectoryTarget", "S3Target"]
        bucket = targets[1]
        assert isinstance(bucket, S3Target)
        bucket.client.create_bucket(Bucket="odex-offsite")
        record = await take_backup(s3_settings, "manual", targets)
        assert record is not None and record.targets[1] == "s3://odex-offsite/odex-backups/"
        assert bucket.names() == [record.file_name]
        fetched = Path(settings.backup_dirs.split(",")[1]) / "from-s3"
        fetched.parent.mkdir(parents=True)
        bucket.fetch(record.file_name, fetched)
        assert sha256(fetched) == record.sha256
        bucket.delete(record.file_name)
        assert bucket.names() == []
        with pytest.raises(FileNotFoundError):
            bucket.fetch(record.file_name, fetched)


def test_pg_tools_match_the_server_and_keep_passwords_out_of_argv() -> None:
    from app.ops.pgtools import find_tool, libpq_args, tool_major

    assert tool_major(find_tool("pg_dump", "", 18)) >= 18  # never an older pg_dump on PATH
    assert find_tool("pg_dump", "/opt/pg/bin/pg_dump", 18) == "/opt/pg/bin/pg_dump"  # PG_DUMP
    url, env = libpq_args("postgresql://odex_backup:s%40cret@db.example:5433/odex?sslmode=require")
    assert url == "postgresql://odex_backup@db.example:5433/odex?sslmode=require"
    assert env["PGPASSWORD"] == "s@cret"


async def test_odex_backup_and_restore_commands(
    services: dict[str, str], settings: Settings, empty_db: str, tenant_a: Account
) -> None:
    env = {**os.environ, **services, "BACKUP_DIRS": settings.backup_dirs}

    def odex(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True
        )

    taken = await asyncio.to_thread(odex, "backup")
    assert taken.returncode == 0, taken.stderr
    backup_id = re.search(r"^backup (\S+)$", taken.stdout, re.M)
    assert backup_id and taken.stdout.count("stored  dir:") == 2
    listed = await asyncio.to_thread(odex, "backup", "--list")
    assert backup_id.group(1) in listed.stdout and "complete" in listed.stdout
    restored = await asyncio.to_thread(
        odex, "restore", backup_id.group(1), "--target-url", empty_db
    )
    assert restored.returncode == 0, restored.stderr
    assert "restored dir:" in restored.stdout
    again = await asyncio.to_thread(odex, "restore", backup_id.group(1), "--target-url", empty_db)
    assert again.returncode == 1 and "restore refused: the target database is not empty" in (
        again.stderr
    )


async def _alerts(kind: str) -> list[dict[str, object]]:
    async with global_transaction() as conn:
        return [
            dict(r)
            for r in await conn.fetch(
                "select * from operator_alerts where kind = $1 order by created_at", kind
            )
        ]


async def _ack_all() -> None:
    async with global_transaction() as conn:
        await conn.execute(
            "update operator_alerts set acknowledged_at = now() where acknowledged_at is null"
        )


def _second_device(tmp_path: Path) -> Path | None:
    """A not yet existing directory on another device than `tmp_path` (tmpfs), if there is one."""
    shm = Path("/dev/shm")  # noqa: S108 - only its device number is read, nothing written
    if shm.is_dir() and shm.stat().st_dev != tmp_path.stat().st_dev:
        return shm / f"odex-{uuid.uuid4().hex}"
    return None


async def test_targets_on_one_disk_warn_at_every_start(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    from app.ops.targets import S3Target, configured_targets, placement_problem
    from app.ops.targets import warn_about_placement as warn

    await _ack_all()
    production = msgspec.structs.replace(settings, env="production")
    assert "same disk" in (placement_problem(configured_targets(production)) or "")
    with caplog.at_level("WARNING", logger="odex.ops"):
        assert await warn(production)
        assert await warn(production)  # warned again at the next start…
    warnings = [
        r for r in caplog.records if r.levelname == "WARNING" and "same disk" in r.getMessage()
    ]
    assert len(warnings) == 2
    assert len([a for a in await _alerts("backup_targets") if not a["acknowledged_at"]]) == 1
    one = msgspec.structs.replace(production, backup_dirs=str(tmp_path / "only"))
    assert "only one" in (placement_problem(configured_targets(one)) or "")
    assert await warn(msgspec.structs.replace(settings, env="dev")) is None  # not in dev
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    offsite = S3Target("odex-offsite", region="us-east-1")
    assert placement_problem([*configured_targets(one), offsite]) is None
    elsewhere = _second_device(tmp_path)
    if elsewhere is not None:  # a directory on another device than the first one
        other = msgspec.structs.replace(production, backup_dirs=f"{tmp_path / 'a'},{elsewhere}")
        assert placement_problem(configured_targets(other)) is None
    await _ack_all()


class CorruptingTarget(DirectoryTarget):
    """A disk that silently flips a byte of what it stores."""

    def put(self, name: str, source: Path) -> None:
        super().put(name, source)
        path = self.path / name
        data = bytearray(path.read_bytes())
        data[-5] ^= 0xFF
        path.write_bytes(bytes(data))


async def test_failed_or_unverifiable_backup_alerts_the_operators(
    settings: Settings,
    tmp_path: Path,
    tenant_a: Account,
    client_a: Any,
    client_b: Any,
    monkeypatch: Any,
    mailbox: Any,
) -> None:
    from app.notifications.jobs import deliver_outbox
    from app.ops import jobs

    async with global_transaction() as conn:
        await conn.execute("update users set is_staff = true where id = $1", tenant_a.user_id)
    good = DirectoryTarget(tmp_path / "good")
    bad = CorruptingTarget(tmp_path / "bad")
    with pytest.raises(BackupFailed, match="does not verify"):
        await take_backup(settings, "manual", [good, bad])
    assert good.names() == [] and bad.names() == []  # no half-taken backup is left
    async with global_transaction() as conn:
        status = await conn.fetchval(
            "select status from backups where kind = 'manual' order by started_at desc limit 1"
        )
    assert status == "failed"

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where a folder should be")
    broken = msgspec.structs.replace(
        settings, backup_dirs=f"{blocked},{tmp_path / 'ok'}", operator_email="ops@example.com"
    )
    monkeypatch.setattr(jobs, "get_settings", lambda: broken)
    monkeypatch.setattr("app.ops.alerts.get_settings", lambda: broken)
    with pytest.raises(BackupFailed):
        await jobs.daily_backup({})
    alert = (await _alerts("backup_failed"))[-1]
    assert "daily backup failed" in str(alert["summary"])
    await deliver_outbox({}, None)
    for address in (tenant_a.email, "ops@example.com"):
        assert any("backup failed" in m["Subject"] for m in mailbox.to(address)), address
    page = await client_a.get("/staff/operator-alerts")  # staff see them and acknowledge
    assert page.status_code == 200 and "The daily backup failed" in page.text
    assert (await client_b.get("/staff/operator-alerts")).status_code == 403  # not staff
    ack = f"/staff/operator-alerts/{alert['id']}/acknowledge"
    assert (await client_b.post_form(ack, {})).status_code == 403
    assert (await client_a.post_form(ack, {})).status_code == 303
    assert (await _alerts("backup_failed"))[-1]["acknowledged_by"] == tenant_a.user_id


async def test_pruning_keeps_the_newest_verified_copy_in_each_target(
    settings: Settings, tmp_path: Path
) -> None:
    site_a, site_b = (DirectoryTarget(Path(d)) for d in settings.backup_dirs.split(","))
    only_newest = msgspec.structs.replace(
        settings, backup_keep_daily=1, backup_keep_weekly=0, backup_keep_monthly=0
    )
    older = await take_backup(settings, "manual", [site_a, site_b])
    newer = await take_backup(settings, "manual", [site_a, site_b])
    assert older and newer
    damaged = site_a.path / newer.file_name  # the newest copy at site A rots on disk
    data = bytearray(damaged.read_bytes())
    data[100] ^= 0xFF
    damaged.write_bytes(bytes(data))
    pruned = await prune_backups(only_newest, [site_a, site_b])
    assert older.file_name not in pruned  # still site A's newest good copy
    assert site_a.names() == sorted([older.file_name, newer.file_name])
    assert site_b.names() == [newer.file_name]  # B's newest verifies: the older one goes
    async with global_transaction() as conn:
        row = await conn.fetchrow("select status, targets from backups where id = $1", older.id)
        flagged = await conn.fetchval("select verify_error from backups where id = $1", newer.id)
    assert row["status"] == "complete" and row["targets"] == [site_a.label]
    assert flagged and site_a.label in flagged
    latest = str((await _alerts("backup_unverifiable"))[-1]["details"])
    assert newer.file_name in latest and "SHA-256 differs" in latest
    damaged.unlink()  # now it is missing altogether: still flagged, older copy still kept
    await prune_backups(only_newest, [site_a, site_b])
    assert older.file_name in site_a.names()
    assert "missing" in str((await _alerts("backup_unverifiable"))[-1]["details"])


async def test_the_dump_runs_below_the_apps_cpu_priority(
    settings: Settings, tmp_path: Path, tenant_a: Account, tenant_b: Account
) -> None:
    """pg_dump is started under `nice` (DUMP_NICENESS): a wrapper in its place records the
    niceness it was started with, then runs the real pg_dump; the backup still completes."""
    from app.ops.backups import DUMP_NICENESS, server_major
    from app.ops.pgtools import find_tool

    real = find_tool("pg_dump", "", await server_major() // 10000)
    seen = tmp_path / "niceness"
    wrapper = tmp_path / "pg_dump"
    wrapper.write_text(
        f'#!/bin/sh\n[ "$1" = "--version" ] || nice > "{seen}"\nexec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    niced = msgspec.structs.replace(settings, pg_dump=str(wrapper))
    record = await take_backup(niced, "manual")
    assert record is not None and len(record.targets) == 2
    assert int(seen.read_text()) == min(19, mine + DUMP_NICENESS)
