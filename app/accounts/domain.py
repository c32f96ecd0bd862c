"""The accounts domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.accounts import routes, settings_routes
from app.core.domain import Domain

DOMAIN = Domain(name="accounts", routes=(*routes.ROUTES, *settings_routes.ROUTES))
