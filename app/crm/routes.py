"""Every route of the crm app, for app/asgi.py: the members' own CRM, and the custom fields'
settings (admins)."""

from litestar.types import ControllerRouterHandler

from app.accounts.deps import routes_at
from app.core.access import Level
from app.crm.activity_routes import ROUTES as ACTIVITY_ROUTES
from app.crm.bulk_routes import ROUTES as BULK_ROUTES
from app.crm.company_routes import ROUTES as COMPANY_ROUTES
from app.crm.contact_routes import ROUTES as CONTACT_ROUTES
from app.crm.custom_routes import ROUTES as CUSTOM_FIELD_ROUTES
from app.crm.dashboard_routes import ROUTES as DASHBOARD_ROUTES
from app.crm.import_routes import ROUTES as IMPORT_ROUTES
from app.crm.merge_routes import ROUTES as MERGE_ROUTES
from app.crm.note_routes import ROUTES as NOTE_ROUTES
from app.crm.view_routes import ROUTES as VIEW_ROUTES

ROUTES: list[ControllerRouterHandler] = [
    routes_at(
        Level.MEMBER,
        [
            *DASHBOARD_ROUTES,
            *MERGE_ROUTES,
            *CONTACT_ROUTES,
            *COMPANY_ROUTES,
            *NOTE_ROUTES,
            *ACTIVITY_ROUTES,
            *IMPORT_ROUTES,
            *VIEW_ROUTES,
            *BULK_ROUTES,
        ],
    ),
    CUSTOM_FIELD_ROUTES,  # admins and owners only
]
