"""The code of the job queue's data map (app/jobs/datamap.toml): arq's queued jobs and kept
results, and the leases of long jobs (`job_runs`) — ids as arguments, never a name, an
address or a value."""

from __future__ import annotations

from uuid import UUID

from app.core.datamap import Subject, Treatments, redis_keys, redis_keys_holding
from app.core.db import global_transaction
from app.core.redis import redis
from app.jobs import queries


async def _drop_jobs(needles: list[str]) -> int:
    """Queued jobs and kept results that name the subject, and their entries in the queue
    (a job id can name it too). Running jobs' markers hold no arguments."""
    keys = await redis_keys_holding("arq:job:*", needles)
    keys += await redis_keys_holding("arq:result:*", needles)
    dropped = int(await redis().delete(*keys)) if keys else 0
    wanted = [n.encode() for n in needles]
    for queue in await redis_keys("arq:queue*"):
        if (await redis().type(queue)) != b"zset":
            continue
        members = [m for m in await redis().zrange(queue, 0, -1) if any(n in m for n in wanted)]
        if members:
            dropped += int(await redis().zrem(queue, *members))
    return dropped


async def _purge_runs(tenant_id: UUID) -> int:
    """The leases of a purged workspace's jobs (finished or not) go with it."""
    async with global_transaction() as conn:
        return await queries.delete_runs_naming(conn, tenant_id)


async def _scan_runs(subject: Subject) -> list[str]:
    if subject.workspace_id is None:
        return []
    async with global_transaction() as conn:
        left = await queries.count_runs_naming(conn, subject.workspace_id)
    return [f"{left} job leases name the workspace"] if left else []


async def _forget_jobs(subject: Subject) -> int:
    return await _drop_jobs(subject.needles)


async def _purge_jobs(tenant_id: UUID) -> int:
    return await _drop_jobs([str(tenant_id)])


TREATMENTS = Treatments(
    forget_user=[_forget_jobs], purge=[_purge_jobs, _purge_runs], scan=[_scan_runs]
)
