"""Where the job queue keeps data: arq's queued jobs and kept results (ids as arguments)."""

from __future__ import annotations

from uuid import UUID

from app.core.datamap import Place, Subject, redis_keys_holding, register
from app.core.redis import redis


async def _drop_jobs(needles: list[str]) -> int:
    """Queued jobs and kept results that name the subject (a job whose data is gone is
    skipped by arq). Running jobs' markers hold no arguments."""
    keys = await redis_keys_holding("arq:job:*", needles)
    keys += await redis_keys_holding("arq:result:*", needles)
    return int(await redis().delete(*keys)) if keys else 0


async def _forget_jobs(subject: Subject) -> int:
    return await _drop_jobs(subject.needles)


async def _purge_jobs(tenant_id: UUID) -> int:
    return await _drop_jobs([str(tenant_id)])


register(
    Place(
        "redis:jobs",
        "redis",
        "jobs",
        ("user", "workspace"),
        "queued background jobs and their kept results: workspace, export, import and mail ids"
        " as arguments (never addresses or CRM data)",
        retention="until run; results 1 hour (keep_result)",
        access="not shown",
        export="not exported",
        erasure="not affected (jobs name contacts only through an import's id)",
        account_deletion="jobs and results naming the person are dropped",
        workspace_purge="jobs and results naming the workspace are dropped",
        pattern="arq:*",
        forget_user=_forget_jobs,
        purge=_purge_jobs,
        order=980,
    )
)
