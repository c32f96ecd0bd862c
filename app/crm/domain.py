"""The crm domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain
from app.crm import routes
from app.crm.import_jobs import CRM_FUNCTIONS

DOMAIN = Domain(name="crm", routes=routes.ROUTES, jobs=CRM_FUNCTIONS)
