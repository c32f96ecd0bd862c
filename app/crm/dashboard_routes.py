"""The dashboard (`/app`): the workspace's figures at a glance."""

from __future__ import annotations

from litestar import Response, get

from app.accounts.schemas import Current
from app.core.web import render
from app.crm.dashboard import load_dashboard
from app.crm.web import Req


@get("/app")
async def dashboard(request: Req, current: Current) -> Response[str]:
    return render(request, "crm/dashboard.html", {"board": await load_dashboard(current)})


ROUTES = [dashboard]
