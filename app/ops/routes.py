"""Operations pages for platform staff: the operator alerts (thin routes)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.di import Provide

from app.accounts.deps import provide_current
from app.accounts.schemas import Current
from app.core.web import get_session, redirect, render
from app.ops import alerts

Req = Request[Any, Any, Any]
STAFF = {"current": Provide(provide_current)}


@get("/staff/operator-alerts", dependencies=STAFF)
async def operator_alerts_page(request: Req, current: Current) -> Response[str]:
    rows = await alerts.recent_alerts(current)
    return render(request, "ops/alerts.html", {"alerts": rows})


@post("/staff/operator-alerts/{alert_id:uuid}/acknowledge", dependencies=STAFF)
async def operator_alert_acknowledge(
    request: Req, current: Current, alert_id: UUID
) -> Response[str]:
    if await alerts.acknowledge(current, alert_id):
        get_session(request).flash("success", "Alert acknowledged.")
    return redirect(request, "/staff/operator-alerts")


ROUTES = [operator_alerts_page, operator_alert_acknowledge]
