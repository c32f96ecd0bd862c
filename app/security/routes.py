"""Security pages: live alerts, the audit log (filter, CSV export), the user's sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict
from urllib.parse import urlencode
from uuid import UUID

from litestar import Response, get, post
from litestar.response import Stream

from app.accounts import devices
from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.core import sessions
from app.core.access import Level
from app.core.errors import Forbidden, RecordNotFound
from app.core.forms import read_query
from app.core.http_types import Req
from app.core.web import content_disposition, get_session, is_htmx, redirect, render
from app.security import alerts, audit
from app.security.forms import AlertsQuery, AuditQuery

# --- alerts -------------------------------------------------------------------------------


@get("/settings/alerts")
async def alerts_page(request: Req, current: Current) -> Response[str]:
    form = read_query(request, AlertsQuery)
    page, open_only = form.page, form.open
    items, more = await alerts.list_alerts(current, page, open_only=bool(open_only))
    query = {"open": "1"} if open_only else {}
    ctx = {
        "alerts": items,
        "open_only": bool(open_only),
        "prev_url": f"/settings/alerts?{urlencode({**query, 'page': page - 1})}"
        if page > 1
        else None,
        "next_url": f"/settings/alerts?{urlencode({**query, 'page': page + 1})}" if more else None,
    }
    return render(request, "security/alerts.html", ctx)


@get("/settings/alerts/badge")
async def alerts_badge(current: Current) -> Response[str]:
    """The header shield, loaded once per page; the websocket keeps it current after that."""
    return Response(
        alerts.render_badge(await alerts.open_alert_count(current)), media_type="text/html"
    )


def _card(request: Req, alert: alerts.AlertView) -> Response[str]:
    if is_htmx(request):
        return render(request, "security/_alert_card.html", {"alert": alert})
    return redirect(request, "/settings/alerts")


@post("/settings/alerts/{alert_id:uuid}/ack")
async def alert_acknowledge(request: Req, current: Current, alert_id: UUID) -> Response[str]:
    return _card(request, await alerts.acknowledge(current, alert_id))


@post("/settings/alerts/{alert_id:uuid}/revoke-session")
async def alert_revoke_session(request: Req, current: Current, alert_id: UUID) -> Response[str]:
    alert = await alerts.revoke_alert_session(current, alert_id)
    get_session(request).flash("success", "That session is signed out.")
    return _card(request, alert)


# --- audit log ----------------------------------------------------------------------------


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=UTC) if day else None


def _audit_filter(request: Req) -> tuple[audit.AuditFilter, dict[str, str], int]:
    """The filter, the query string that repeats it (for page links), and the page."""
    form = read_query(request, AuditQuery)
    until = _midnight(form.until)
    flt = audit.AuditFilter(
        action=form.action,
        actor=form.actor,
        text=form.q,
        since=_midnight(form.since),
        until=until + timedelta(days=1) if until else None,
    )
    q = {"action": form.action, "actor": form.actor, "q": form.q}
    q |= {"from": form.since.isoformat() if form.since else ""}
    q |= {"to": form.until.isoformat() if form.until else ""}
    return flt, {k: v for k, v in q.items() if v}, form.page


@get("/settings/audit")
async def audit_page(request: Req, current: Current) -> Response[str]:
    flt, query, page = _audit_filter(request)
    entries, more = await audit.list_entries(current.tenant_id, flt, page)
    ctx = {
        "entries": entries,
        "actions": await audit.distinct_actions(current.tenant_id),
        "query": query,
        "export_url": "/settings/audit/export.csv?" + urlencode(query),
        "prev_url": f"/settings/audit?{urlencode({**query, 'page': page - 1})}"
        if page > 1
        else None,
        "next_url": f"/settings/audit?{urlencode({**query, 'page': page + 1})}" if more else None,
    }
    return render(request, "security/audit.html", ctx, block="results")


@get("/settings/audit/export.csv")
async def audit_export(request: Req, current: Current) -> Stream:
    flt, query, _ = _audit_filter(request)
    await audit.record_audit(
        current.tenant_id,
        current.user_id,
        "security.audit_exported",
        "audit log CSV",
        query,
        actor_label=f"{current.name} ({current.email})",
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Stream(
        audit.export_csv(current.tenant_id, flt),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(f"odex-audit-{stamp}.csv")},
    )


# --- sessions -----------------------------------------------------------------------------


class SessionRow(TypedDict):
    """One signed-in session as the sessions page lists it."""

    id: str
    current: bool
    device: str
    ip: str
    last_seen: datetime
    created: datetime


async def _session_rows(request: Req, current: Current) -> list[SessionRow]:
    mine = sessions.session_key(get_session(request).sid)
    rows: list[SessionRow] = []
    for key, s in await sessions.user_sessions(str(current.user_id)):
        rows.append(
            {
                "id": key.removeprefix("sess:"),
                "current": key == mine,
                "device": devices.describe(s.user_agent),
                "ip": s.ip or "unknown",
                "last_seen": datetime.fromtimestamp(s.last_seen, UTC),
                "created": datetime.fromtimestamp(s.created_at, UTC),
            }
        )
    rows.sort(key=lambda r: (not r["current"], -r["last_seen"].timestamp()))
    return rows


@get("/settings/sessions")
async def sessions_page(request: Req, current: Current) -> Response[str]:
    return render(
        request, "security/sessions.html", {"sessions": await _session_rows(request, current)}
    )


@post("/settings/sessions/{session_id:str}/revoke")
async def session_revoke(request: Req, current: Current, session_id: str) -> Response[str]:
    key = "sess:" + session_id
    if key == sessions.session_key(get_session(request).sid):
        raise Forbidden("To end this session, log out.")
    if not await sessions.revoke_key(str(current.user_id), key):
        raise RecordNotFound("session")
    await alerts.alert_user_workspaces(
        current.user_id, "sessions_revoked", {"summary": "one session, from the sessions page"}
    )
    get_session(request).flash("success", "That session is signed out.")
    return redirect(request, "/settings/sessions")


@post("/settings/sessions/revoke-others")
async def session_revoke_others(request: Req, current: Current) -> Response[str]:
    keep = sessions.session_key(get_session(request).sid)
    count = await sessions.destroy_user_sessions(str(current.user_id), keep_key=keep)
    if count:
        await alerts.alert_user_workspaces(
            current.user_id, "sessions_revoked", {"summary": f"all other sessions ({count})"}
        )
    plural = "s" if count != 1 else ""
    get_session(request).flash("success", f"Signed out {count} other session{plural}.")
    return redirect(request, "/settings/sessions")


ROUTES = [
    routes_at(
        Level.ADMIN,
        [
            alerts_page,
            alerts_badge,
            alert_acknowledge,
            alert_revoke_session,
            audit_page,
            audit_export,
        ],
    ),
    # the user's own sessions: open to an owner the workspace holds until they enrol MFA
    routes_at(Level.SIGNED_IN, [sessions_page, session_revoke, session_revoke_others]),
]
