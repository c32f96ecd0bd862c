"""The realtime domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain
from app.realtime import routes

DOMAIN = Domain(name="realtime", routes=routes.ROUTES)
