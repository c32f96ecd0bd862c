"""The search domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain, NavEntry, Slot
from app.search import routes

DOMAIN = Domain(
    name="search",
    routes=routes.ROUTES,
    nav=(NavEntry("main", "/search", "search", "Search", order=5),),
    slots=(
        Slot("app_top", "search/_dialog.html", kept_by=()),
        Slot("header_actions", "search/_button.html", order=5, kept_by=()),
    ),
)
