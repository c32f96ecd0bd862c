"""The /api/v1 router: every resource's routes behind bearer authentication (a new one each
call: the web app and the OpenAPI generator each register their own)."""

from __future__ import annotations

from litestar import Router
from litestar.types import BeforeRequestHookHandler

from app.api import activity_routes, crm_routes, custom_routes, deal_routes, invoice_routes
from app.api.auth import api_routes


def api_router(before_request: BeforeRequestHookHandler | None = None) -> Router:
    return api_routes(
        [
            *crm_routes.ROUTES,
            *custom_routes.ROUTES,
            *deal_routes.ROUTES,
            *activity_routes.ROUTES,
            *invoice_routes.ROUTES,
        ],
        before_request,
    )
