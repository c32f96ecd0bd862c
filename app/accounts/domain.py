"""The accounts domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.accounts import routes, settings_routes
from app.core.domain import Domain, NavEntry

DOMAIN = Domain(
    name="accounts",
    routes=(*routes.ROUTES, *settings_routes.ROUTES),
    nav=(
        NavEntry("workspace", "/settings/team", "people", "Team", order=10),
        NavEntry(
            "workspace", "/settings/company", "building-gear", "Company", order=30, audience="admin"
        ),
        NavEntry("account", "/settings/profile", "person-circle", "Profile", order=10),
    ),
)
