"""The privacy domain's arq functions and cron jobs (collected by app/worker.py)."""

from __future__ import annotations

from arq import cron
from arq.cron import CronJob
from arq.worker import func

from app.core.domain import ArqJob
from app.privacy.deletion import sweep_deletions
from app.privacy.export import EXPORT_TIMEOUT_SECONDS, run_export, sweep_export_files
from app.privacy.policy import send_policy_notices
from app.privacy.purge import purge_deletion
from app.privacy.retention import apply_retention
from app.privacy.usage import flush_usage_events, purge_expired_usage

HOUR = 3600
PRIVACY_FUNCTIONS: list[ArqJob] = [
    func(flush_usage_events, timeout=300),
    func(run_export, timeout=EXPORT_TIMEOUT_SECONDS, max_tries=3),
    func(send_policy_notices, timeout=2 * HOUR, max_tries=5),
    func(purge_deletion, timeout=4 * HOUR, max_tries=10),
]
PRIVACY_CRON_JOBS: list[CronJob] = [
    cron(flush_usage_events, second={0, 10, 20, 30, 40, 50}, timeout=300),
    cron(purge_expired_usage, hour={3}, minute={15}, run_at_startup=True, timeout=2 * HOUR),
    cron(sweep_deletions, minute=set(range(0, 60, 5)), run_at_startup=True, timeout=300),
    cron(sweep_export_files, minute={10, 25, 40, 55}, run_at_startup=True, timeout=300),
    cron(apply_retention, hour={4}, minute={5}, run_at_startup=True, timeout=HOUR),
]
