"""The deals domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain, NavEntry, Subscription
from app.core.events import WorkspaceCreated
from app.crm.import_kinds import register_import_kind
from app.crm.note_routes import register_record_page
from app.deals import board_routes, routes
from app.deals.bulk import register_deal_bulk
from app.deals.imports import DEALS
from app.deals.pipelines import ensure_default_pipeline
from app.deals.routes import render_deal


async def _workspace_created(event: WorkspaceCreated) -> None:
    await ensure_default_pipeline(event.tenant_id)  # joins the sign-up transaction


def _deal_record_page() -> None:
    register_record_page("deal", render_deal)  # a refused note/task form on a deal


def _deal_import() -> None:
    register_import_kind(DEALS)  # deals on the CSV import pages and in its job


DOMAIN = Domain(
    name="deals",
    routes=(*routes.ROUTES, *board_routes.ROUTES),
    subscriptions=(Subscription(WorkspaceCreated, _workspace_created),),
    wiring=(_deal_record_page, _deal_import, register_deal_bulk),
    nav=(NavEntry("main", "/deals/board", "kanban", "Deals", order=40),),
)
