"""arq WorkerSettings: every domain's jobs and cron jobs, with the DB pool and Redis set up."""

from __future__ import annotations

from arq.connections import ArqRedis
from arq.cron import CronJob

from app import domains
from app.core import db, health, redis
from app.core.domain import ArqJob
from app.ops.targets import warn_about_placement
from app.settings import get_settings

DOMAINS = domains.load()  # event subscribers and cross-domain wiring, before any job runs


async def startup(ctx: dict[str, object]) -> None:
    await db.start_pool(max_size=max(2, get_settings().database_pool_size // 2))
    pool = ctx["redis"]  # arq's own pool, which its jobs are queued with
    if not isinstance(pool, ArqRedis):
        raise TypeError(f"arq's worker context holds {type(pool).__name__}, not ArqRedis")
    redis.use(pool, pool)
    # backups on one disk: told at every start, once the schema is current (workers may start
    # while `odex migrate` still runs)
    health.when_migrated(lambda: warn_about_placement(get_settings()), name="backup placement")


async def shutdown(ctx: dict[str, object]) -> None:
    await health.stop_background()
    await db.close_pool()


FUNCTIONS: list[ArqJob] = [job for domain in DOMAINS for job in domain.jobs]
CRON_JOBS: list[CronJob] = [job for domain in DOMAINS for job in domain.crons]


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = redis.redis_settings(get_settings().redis_url or "redis://127.0.0.1:6379")
    max_jobs = 10
    job_timeout = 300
    keep_result = 3600
    # SIGTERM: stop taking jobs, give running ones this long, then cancel them (arq re-queues
    # them and their lease is handed back, so another worker resumes them at once)
    job_completion_wait = get_settings().worker_shutdown_seconds
