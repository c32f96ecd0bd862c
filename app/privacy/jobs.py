"""The privacy domain's arq functions and cron jobs (collected by app/jobs/worker.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from arq import cron
from arq.worker import func

from app.privacy.deletion import sweep_deletions
from app.privacy.export import export_dir, run_export
from app.privacy.policy import send_policy_notices
from app.privacy.purge import purge_deletion
from app.privacy.usage import flush_usage_events, purge_expired_usage
from app.settings import get_settings


def _remove_zips_older_than(root: Path, limit: float) -> int:
    removed = 0
    if root.exists():
        for path in root.glob("*/*.zip"):
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


async def remove_expired_exports(ctx: dict[str, Any] | None = None) -> int:
    """Delete export zips whose download link has expired (the rows keep the manifest)."""
    limit = time.time() - get_settings().export_link_hours * 3600
    return _remove_zips_older_than(export_dir(), limit)


HOUR = 3600
PRIVACY_FUNCTIONS: list[Any] = [
    func(flush_usage_events, timeout=300),
    func(run_export, timeout=2 * HOUR, max_tries=3),
    func(send_policy_notices, timeout=2 * HOUR, max_tries=5),
    func(purge_deletion, timeout=4 * HOUR, max_tries=10),
]
PRIVACY_CRON_JOBS: list[Any] = [
    cron(flush_usage_events, second={0, 10, 20, 30, 40, 50}, timeout=300),
    cron(purge_expired_usage, hour={3}, minute={15}, run_at_startup=True, timeout=2 * HOUR),
    cron(sweep_deletions, minute=set(range(0, 60, 5)), run_at_startup=True, timeout=300),
    cron(remove_expired_exports, minute={40}, run_at_startup=True, timeout=300),
]
