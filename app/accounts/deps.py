"""Who is asking: the session's user and their membership of *this* workspace, and the routers
every domain declares its routes in (`routes(Level.MEMBER, …)`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from litestar import Router
from litestar.di import Provide
from litestar.types import ControllerRouterHandler, Scope

from app.accounts.schemas import Current
from app.accounts.services import load_current
from app.core import formats, sessions
from app.core.access import Level, level_router
from app.core.errors import LoginRequired
from app.core.http_types import Connection, Req
from app.core.web import SESSION_SCOPE_KEY

CURRENT_SCOPE_KEY = "odex.current"  # read by the page layout (app.core.web.base_context)
RESOLVED_SCOPE_KEY = "odex.current_resolved"


async def resolve_current(connection: Connection) -> Current | None:
    """The signed-in user in the session's workspace, or None; once per request.

    A session whose membership is gone (removed from the team, workspace being purged) is
    signed out here, so a removed member's open tab loses access on its next request.
    """
    return await _resolve(connection.scope)


async def _resolve(scope: Any) -> Current | None:
    if scope.get(RESOLVED_SCOPE_KEY):
        cached = scope.get(CURRENT_SCOPE_KEY)
        return cached if isinstance(cached, Current) else None
    session = scope.get(SESSION_SCOPE_KEY)
    current = None
    if isinstance(session, sessions.Session) and session.user_id and session.tenant_id:
        try:
            current = await load_current(UUID(session.user_id), UUID(session.tenant_id))
        except ValueError:
            current = None
        if current is None:
            session.user_id = session.tenant_id = None
            session.dirty = True
    scope[RESOLVED_SCOPE_KEY] = True
    # this request's dates and numbers read as the person chose (defaults when signed out)
    formats.use(current.time_zone if current else None, current.locale if current else None)
    if current is not None:
        scope[CURRENT_SCOPE_KEY] = current
    return current


async def provide_current(scope: Scope) -> Current:
    """The `current` dependency of guarded routes, HTTP and websocket (the guard resolved it)."""
    current = await _resolve(scope)
    if current is None:
        raise LoginRequired()
    return current


async def optional_current(request: Req) -> Current | None:
    """The signed-in user on a public page, if any (for the layout and prefilled forms)."""
    return await resolve_current(request)


def routes_at(level: Level, handlers: Sequence[ControllerRouterHandler]) -> Router:
    """Declare `handlers` at `level`: one router with the access guard and `current`."""
    dependencies = {} if level is Level.PUBLIC else {"current": Provide(provide_current)}
    return level_router(level, handlers, resolve=resolve_current, dependencies=dependencies)
