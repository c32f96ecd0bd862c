"""The api domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.accounts.deps import routes_at
from app.api import docs, settings_routes
from app.api.enforce import checked_requests
from app.api.router import api_router
from app.core.access import Level
from app.core.domain import Domain, NavEntry

DOMAIN = Domain(
    name="api",
    routes=(
        api_router(checked_requests(docs.openapi_document)),
        routes_at(Level.MEMBER, settings_routes.ROUTES),
        routes_at(Level.PUBLIC, docs.ROUTES),
    ),
    nav=(NavEntry("account", "/settings/api-tokens", "key", "API tokens", order=35),),
)
