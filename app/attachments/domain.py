"""The attachments domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.attachments import routes
from app.core.domain import Domain, Slot

DOMAIN = Domain(
    name="attachments",
    routes=routes.ROUTES,
    slots=(Slot("record_panel", "attachments/_slot.html"),),
)
