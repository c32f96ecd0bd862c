"""The support domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain
from app.support import routes

DOMAIN = Domain(name="support", routes=routes.ROUTES)
