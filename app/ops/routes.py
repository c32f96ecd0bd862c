"""Operations pages for platform staff: the operator alerts (thin routes)."""

from __future__ import annotations

from uuid import UUID

from litestar import Response, get, post

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.http_types import Req
from app.core.web import get_session, redirect, render
from app.ops import alerts


@get("/staff/operator-alerts")
async def operator_alerts_page(request: Req, current: Current) -> Response[str]:
    rows = await alerts.recent_alerts(current)
    return render(request, "ops/alerts.html", {"alerts": rows})


@post("/staff/operator-alerts/{alert_id:uuid}/acknowledge")
async def operator_alert_acknowledge(
    request: Req, current: Current, alert_id: UUID
) -> Response[str]:
    if await alerts.acknowledge(current, alert_id):
        get_session(request).flash("success", "Alert acknowledged.")
    return redirect(request, "/staff/operator-alerts")


ROUTES = [routes_at(Level.STAFF, [operator_alerts_page, operator_alert_acknowledge])]
