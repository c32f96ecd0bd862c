"""The privacy domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain, Slot
from app.privacy import routes, settings_routes
from app.privacy.jobs import PRIVACY_CRON_JOBS, PRIVACY_FUNCTIONS

DOMAIN = Domain(
    name="privacy",
    routes=(*routes.ROUTES, *settings_routes.ROUTES),
    jobs=PRIVACY_FUNCTIONS,
    crons=PRIVACY_CRON_JOBS,
    slots=(Slot("body_top", "privacy/_banners.html"),),
)
