"""The dashboard (`/app`): the workspace's figures at a glance."""

from __future__ import annotations

from litestar import Response, get, post

from app.accounts.schemas import Current
from app.core.http_types import Req
from app.core.web import ONE_READ, redirect, render
from app.crm.dashboard import hide_onboarding, load_dashboard


@get("/app", opt=ONE_READ)
async def dashboard(request: Req, current: Current) -> Response[str]:
    return render(request, "crm/dashboard.html", {"board": await load_dashboard(current)})


@post("/app/onboarding/hide")
async def onboarding_hide(request: Req, current: Current) -> Response[str]:
    await hide_onboarding(current)
    return redirect(request, "/app")


ROUTES = [dashboard, onboarding_hide]
