"""arq WorkerSettings: every domain's jobs and cron jobs, with the DB pool and Redis set up."""

from __future__ import annotations

from typing import Any

from arq import cron

from app import domains
from app.billing.grace import GRACE_CRON
from app.billing.jobs import BILLING_CRON, BILLING_FUNCTIONS
from app.core import db, redis
from app.core.lease import take_over_jobs
from app.crm.import_jobs import CRM_FUNCTIONS
from app.invoices.jobs import INVOICE_CRON
from app.notifications.jobs import deliver_outbox
from app.ops.jobs import BACKUP_CRON, BACKUP_FUNCTIONS
from app.ops.targets import warn_about_placement
from app.privacy.jobs import PRIVACY_CRON_JOBS, PRIVACY_FUNCTIONS
from app.security.rotation import rotate_field_keys
from app.settings import get_settings

domains.load()  # event subscribers and cross-domain wiring, before any job runs


async def startup(ctx: dict[str, Any]) -> None:
    await db.start_pool(max_size=max(2, get_settings().database_pool_size // 2))
    redis.use(ctx["redis"], ctx["redis"])
    await warn_about_placement(get_settings())  # backups on one disk: told at every start


async def shutdown(ctx: dict[str, Any]) -> None:
    await db.close_pool()


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Catch mail whose job was lost (enqueue failed after commit, or retries ran out)."""
    return await deliver_outbox(ctx, None)


FUNCTIONS: list[Any] = [deliver_outbox, rotate_field_keys, *BILLING_FUNCTIONS, *CRM_FUNCTIONS]
FUNCTIONS += PRIVACY_FUNCTIONS + BACKUP_FUNCTIONS
CRON_JOBS: list[Any] = [
    cron(sweep_outbox, second={0}, run_at_startup=True),
    # a long job whose worker died is re-queued within a lease period + 5 s (app/core/lease.py)
    cron(take_over_jobs, second=set(range(2, 60, 5)), run_at_startup=True, timeout=60),
    BACKUP_CRON,
    BILLING_CRON,
    GRACE_CRON,
    *PRIVACY_CRON_JOBS,
    INVOICE_CRON,
    cron(rotate_field_keys, hour={3}, minute={17}, timeout=3600),  # no-op once rotated
]


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
