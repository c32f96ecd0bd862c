"""The support domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain, NavEntry
from app.support import routes

DOMAIN = Domain(
    name="support",
    routes=routes.ROUTES,
    nav=(
        NavEntry("help", "/support", "life-preserver", "Support", order=10),
        NavEntry("help", "/staff/support", "inbox", "Support inbox", order=20, audience="staff"),
    ),
)
