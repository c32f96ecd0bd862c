"""arq WorkerSettings: every domain's jobs and cron jobs, with the DB pool and Redis set up."""

from __future__ import annotations

from typing import Any

from arq import cron

from app.billing.grace import GRACE_CRON
from app.billing.jobs import BILLING_CRON, BILLING_FUNCTIONS
from app.core import db, redis
from app.crm.import_jobs import CRM_FUNCTIONS
from app.invoices.jobs import INVOICE_CRON
from app.notifications.jobs import deliver_outbox
from app.ops.jobs import BACKUP_CRON
from app.ops.targets import warn_about_placement
from app.privacy.jobs import PRIVACY_CRON_JOBS, PRIVACY_FUNCTIONS
from app.security.rotation import rotate_field_keys
from app.settings import get_settings


async def startup(ctx: dict[str, Any]) -> None:
    await db.start_pool(max_size=5)
    redis.use(ctx["redis"], ctx["redis"])
    await warn_about_placement(get_settings())  # backups on one disk: told at every start


async def shutdown(ctx: dict[str, Any]) -> None:
    await db.close_pool()


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Catch mail whose job was lost (enqueue failed after commit, or retries ran out)."""
    return await deliver_outbox(ctx, None)


FUNCTIONS: list[Any] = [deliver_outbox, rotate_field_keys, *BILLING_FUNCTIONS, *CRM_FUNCTIONS]
FUNCTIONS += PRIVACY_FUNCTIONS
CRON_JOBS: list[Any] = [
    cron(sweep_outbox, second={0}, run_at_startup=True),
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
