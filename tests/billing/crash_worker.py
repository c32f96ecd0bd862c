"""The real arq worker with every job function but no cron jobs (a test kills it mid-job, so it
must not start other domains' scheduled work such as backups)."""

from __future__ import annotations

from typing import Any

from arq.worker import run_worker

from app.worker import WorkerSettings


class JobsOnly:
    functions = WorkerSettings.functions
    cron_jobs: list[Any] = []
    on_startup = WorkerSettings.on_startup
    on_shutdown = WorkerSettings.on_shutdown
    redis_settings = WorkerSettings.redis_settings
    job_timeout = WorkerSettings.job_timeout


if __name__ == "__main__":
    run_worker(JobsOnly)  # type: ignore[arg-type]
