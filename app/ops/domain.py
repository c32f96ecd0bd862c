"""The ops domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain
from app.ops import routes
from app.ops.jobs import BACKUP_CRON, BACKUP_FUNCTIONS

DOMAIN = Domain(name="ops", routes=routes.ROUTES, jobs=BACKUP_FUNCTIONS, crons=(BACKUP_CRON,))
