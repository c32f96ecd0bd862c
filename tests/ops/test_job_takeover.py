"""Leased cron and platform jobs whose worker died: the daily backup and the policy notices are
re-queued by the takeover cron at once (not at the next hourly tick, not after arq's timeout),
and run to the end exactly once. (Exports: tests/deploy; imports: tests/crm; purges:
tests/privacy.)"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from arq.constants import default_queue_name, job_key_prefix

from app.accounts.services import load_current
from app.core.db import global_transaction
from app.core.lease import take_over_jobs
from app.core.redis import redis
from app.ops import jobs
from app.ops.backups import release_stale
from app.ops.tables import Backup
from app.privacy import policy
from app.settings import get_settings
from tests.helpers import Account, run_jobs

DEAD = "gone-host:1:dead"


async def _held_by_a_dead_worker(key: str, function: str, args: list[Any]) -> None:
    """The state a SIGKILLed worker leaves: its lease ran out, its arq job is gone."""
    async with global_transaction() as conn:
        await conn.execute(
            "insert into job_runs (key, function, args, status, owner, lease_until, attempts,"
            " started_at) values ($1, $2, $3::jsonb, 'running', $4, now() - interval '1 second',"
            " 1, now()) on conflict (key) do update set status = 'running', owner = $4,"
            " lease_until = now() - interval '1 second', finished_at = null",
            key,
            function,
            json.dumps(args),
            DEAD,
        )
    for job_id in await redis().zrange(default_queue_name, 0, -1):
        if job_id.decode().startswith(key + "@"):
            await redis().zrem(default_queue_name, job_id)
            await redis().delete(job_key_prefix + job_id.decode())


async def _run(key: str) -> dict[str, Any]:
    async with global_transaction() as conn:
        row = await conn.fetchrow("select * from job_runs where key = $1", key)
    assert row is not None
    return dict(row)


async def test_a_dead_workers_daily_backup_is_taken_over_at_once(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # due at any hour the suite runs (the default BACKUP_HOUR, 2 UTC, made it "not due yet"
    # and the test fail from midnight to two)
    due = msgspec.structs.replace(get_settings(), backup_hour=0)
    monkeypatch.setattr(jobs, "get_settings", lambda: due)
    long_ago = date.today() - timedelta(days=900)  # a day of its own (one backup per day)
    backup_id = uuid.uuid4()
    async with global_transaction():
        await Backup.insert(
            Backup(
                id=backup_id,
                kind="scheduled",
                backup_day=long_ago,
                status="running",
                file_name=f"odex-dead-{backup_id.hex}.odexbak",
                targets=[],
                started_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
    now = datetime.now(UTC)
    assert await release_stale(now) == 0  # a minute old: without the lease, it might be alive
    await _held_by_a_dead_worker("daily_backup", "daily_backup", [])
    assert await take_over_jobs() >= 1
    await run_jobs()
    run = await _run("daily_backup")
    assert run["status"] == "done" and run["takeovers"] == 1 and run["owner"] != DEAD
    async with global_transaction():
        dead = await Backup.select(Backup.status, Backup.error).where(Backup.id == backup_id)
    assert dead == [{"status": "failed", "error": "interrupted"}]  # released by the new holder


async def test_a_dead_workers_policy_notices_are_taken_over_and_sent_once(
    tenant_a: Account, tenant_b: Account
) -> None:
    async with global_transaction() as conn:
        await conn.execute("update users set is_staff = true where id = $1", tenant_a.user_id)
    staff = await load_current(tenant_a.user_id, tenant_a.tenant_id)
    assert staff is not None
    effective = datetime.now(UTC) + timedelta(days=31)
    version = await policy.publish_version(staff, "Takeover test", effective)
    key = f"send_policy_notices:{version}"
    await _held_by_a_dead_worker(key, "send_policy_notices", [version])
    assert await take_over_jobs() >= 1
    await run_jobs()
    assert (await _run(key))["status"] == "done"
    async with global_transaction() as conn:
        users = await conn.fetchval("select count(*) from users")
        sent = await conn.fetchval(
            "select count(*) from policy_notices where version = $1", version
        )
    assert sent == users  # everyone once (a unique key makes twice impossible anyway)
