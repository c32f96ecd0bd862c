"""arq jobs of ops: the daily backup (an hourly cron that checks whether today's is done)."""

from __future__ import annotations

from arq import cron
from arq.worker import func

from app.core.lease import leased
from app.ops.alerts import raise_operator_alert
from app.ops.backups import BACKUP_TIMEOUT, run_scheduled_backup
from app.settings import get_settings


@leased("daily_backup", repeatable=True, skipped="taken by another worker")
async def daily_backup(ctx: dict[str, object]) -> str:
    """Take today's encrypted backup if it has not happened yet, then apply retention.

    Under a lease: if the worker taking it dies, another one takes the day's backup over within
    a minute (not at the next hourly tick, and not 70 minutes later). A failure is an operator
    alert (stored, mailed to staff and OPERATOR_EMAIL) before the job fails; the next hourly
    run tries again.
    """
    try:
        return await run_scheduled_backup(get_settings(), holding_lease=True)
    except Exception as exc:
        await raise_operator_alert(
            "backup_failed",
            "The daily backup failed",
            f"{type(exc).__name__}: {exc}. The next hourly run tries again.",
        )
        raise


# Hourly and at worker start: a day missed while no worker ran is caught up at the next tick.
BACKUP_CRON = cron(
    daily_backup,
    minute={17},
    run_at_startup=True,
    timeout=int(BACKUP_TIMEOUT.total_seconds()),
    max_tries=1,
)

# Also a plain job: the takeover cron re-queues a dead worker's backup under this name.
BACKUP_FUNCTIONS = [func(daily_backup, timeout=int(BACKUP_TIMEOUT.total_seconds()), max_tries=1)]
