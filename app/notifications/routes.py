"""Notification pages: the feed, the bell fragment, mark read (thin routes)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit
from uuid import UUID

from litestar import Response, get, post

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.forms import read_query
from app.core.http_types import Req
from app.core.web import redirect, render, safe_local_path
from app.notifications import feed
from app.notifications.forms import FeedQuery


@get("/notifications")
async def notifications_page(request: Req, current: Current) -> Response[str]:
    before = read_query(request, FeedQuery).before or None
    items, older = await feed.list_feed(current, before)
    ctx = {"items": items, "next_url": f"/notifications?before={quote(older)}" if older else None}
    return render(request, "notifications/list.html", ctx)


@get("/notifications/bell")
async def bell(request: Req, current: Current) -> Response[str]:
    # every page loads its bell through htmx, which names the page in HX-Current-URL
    page = urlsplit(request.headers.get("hx-current-url", ""))
    seen = safe_local_path(page.path + (f"?{page.query}" if page.query else ""), default="")
    html = feed.render_bell(current.tenant_id, await feed.unread_count(current, seen or None))
    return Response(html, media_type="text/html")


@post("/notifications/{notification_id:uuid}/read")
async def notification_read(request: Req, current: Current, notification_id: UUID) -> Response[str]:
    link = await feed.mark_read(current, notification_id)
    return redirect(request, safe_local_path(link, default="/notifications"))


@post("/notifications/read-all")
async def notifications_read_all(request: Req, current: Current) -> Response[str]:
    await feed.mark_all_read(current)
    return redirect(request, "/notifications")


ROUTES = [
    routes_at(Level.MEMBER, [notifications_page, bell, notification_read, notifications_read_all])
]
