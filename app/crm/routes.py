"""Every route of the crm app, for app/asgi.py."""

from typing import Any

from app.crm.company_routes import ROUTES as COMPANY_ROUTES
from app.crm.contact_routes import ROUTES as CONTACT_ROUTES
from app.crm.import_routes import ROUTES as IMPORT_ROUTES
from app.crm.note_routes import ROUTES as NOTE_ROUTES

ROUTES: list[Any] = [*CONTACT_ROUTES, *COMPANY_ROUTES, *NOTE_ROUTES, *IMPORT_ROUTES]
