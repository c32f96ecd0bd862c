"""The jobs domain, declared once (see app.core.domain)."""

from __future__ import annotations

from arq import cron

from app.core.domain import Domain
from app.core.lease import take_over_jobs

DOMAIN = Domain(
    name="jobs",
    # a long job whose worker died is re-queued within a lease period + 5 s (app/core/lease.py)
    crons=(cron(take_over_jobs, second=set(range(2, 60, 5)), run_at_startup=True, timeout=60),),
)
