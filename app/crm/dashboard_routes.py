"""The dashboard (`/app`): the workspace's figures at a glance."""

from __future__ import annotations

from litestar import Response, get, post

from app.accounts.schemas import Current
from app.core.folded import folds, take_folded
from app.core.http_types import Req
from app.core.web import get_session, redirect, render_with_parts
from app.crm.dashboard import dashboard_content, hide_onboarding
from app.crm.dashboard_queries import DASHBOARD_READ


@get("/app", opt=folds(DASHBOARD_READ))
async def dashboard(request: Req, current: Current) -> Response[bytes]:
    """The layout (kept whole too) around the content kept per process
    (app/crm/dashboard.py): the signed-in check and the state are one statement (`folds`),
    no transaction while the content is kept."""
    folded = take_folded(request.scope, DASHBOARD_READ)
    content = await dashboard_content(current, get_session(request).csrf, folded)
    # the page around the content reads nothing but the reader (in the kept page's key)
    parts = {"dashboard_content": content}
    return render_with_parts(request, "crm/dashboard.html", {}, parts, kept_by=())


@post("/app/onboarding/hide")
async def onboarding_hide(request: Req, current: Current) -> Response[str]:
    await hide_onboarding(current)
    return redirect(request, "/app")


ROUTES = [dashboard, onboarding_hide]
