"""The invoices domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain, NavEntry
from app.invoices import routes
from app.invoices.jobs import INVOICE_CRON

DOMAIN = Domain(
    name="invoices",
    routes=routes.ROUTES,
    crons=(INVOICE_CRON,),
    nav=(NavEntry("main", "/invoices", "receipt", "Invoices", order=50),),
)
