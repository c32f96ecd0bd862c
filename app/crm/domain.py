"""The crm domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain, NavEntry
from app.crm import routes
from app.crm.bulk_jobs import BULK_FUNCTIONS
from app.crm.import_jobs import CRM_FUNCTIONS
from app.crm.reminders import REMINDER_CRON

DOMAIN = Domain(
    name="crm",
    routes=routes.ROUTES,
    jobs=[*CRM_FUNCTIONS, *BULK_FUNCTIONS],
    crons=(REMINDER_CRON,),
    nav=(
        NavEntry("main", "/app", "speedometer2", "Dashboard", order=10),
        NavEntry("main", "/contacts", "person-lines-fill", "Contacts", order=20),
        NavEntry("main", "/companies", "buildings", "Companies", order=30),
        NavEntry("main", "/tasks", "calendar-check", "Activities", order=60),
        NavEntry(
            "workspace",
            "/settings/custom-fields",
            "ui-checks",
            "Custom fields",
            order=55,
            audience="admin",
        ),
    ),
)
