"""The privacy domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain, NavEntry, Slot
from app.privacy import routes, settings_routes
from app.privacy.consent import banners_state
from app.privacy.jobs import PRIVACY_CRON_JOBS, PRIVACY_FUNCTIONS

DOMAIN = Domain(
    name="privacy",
    routes=(*routes.ROUTES, *settings_routes.ROUTES),
    jobs=PRIVACY_FUNCTIONS,
    crons=PRIVACY_CRON_JOBS,
    slots=(Slot("body_top", "privacy/_banners.html", varies_by=banners_state),),
    nav=(
        NavEntry("workspace", "/settings/usage", "graph-up", "Usage", order=60, audience="admin"),
        NavEntry("account", "/settings/cookies", "cookie", "Cookies", order=40),
        NavEntry("account", "/settings/my-data", "person-vcard", "My data", order=50),
        NavEntry("account", "/settings/export", "box-arrow-down", "Export & delete", order=60),
        NavEntry(
            "help", "/privacy/admin", "megaphone", "Policy versions", order=30, audience="staff"
        ),
    ),
)
