"""Who is asking: the session's user and their membership of *this* workspace, and the routers
every domain declares its routes in (`routes(Level.MEMBER, …)`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any
from uuid import UUID

from litestar import Router
from litestar.di import Provide
from litestar.types import ControllerRouterHandler, Scope

from app.accounts.queries import signed_in_with_sql
from app.accounts.schemas import Current
from app.accounts.services import load_current, load_current_with
from app.core import formats, sessions
from app.core.access import ROLE_ORDER, Level, level_of, level_router
from app.core.errors import LoginRequired
from app.core.folded import FOLDED_SCOPE_KEY, StateRead, fold_of
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
            user_id, tenant_id = UUID(session.user_id), UUID(session.tenant_id)
        except ValueError:
            current = None
        else:
            folded = _folded_read(scope)
            if folded is None:
                current = await load_current(user_id, tenant_id)
            else:
                read, sql, params = folded
                current, rows = await load_current_with(user_id, tenant_id, sql, params)
                if current is not None:
                    scope[FOLDED_SCOPE_KEY] = {read.name: rows}
        if current is None:
            session.user_id = session.tenant_id = None
            session.dirty = True
    scope[RESOLVED_SCOPE_KEY] = True
    # this request's dates and numbers read as the person chose (defaults when signed out)
    formats.use(current.time_zone if current else None, current.locale if current else None)
    if current is not None:
        scope[CURRENT_SCOPE_KEY] = current
    return current


def _folded_read(scope: Any) -> tuple[StateRead, str, tuple[object, ...]] | None:
    """The state read a GET page declares (`app.core.folded`) to be read with the signed-in
    check, its statement and values, or None: no fold (another method, a websocket, a level
    not of workspace roles, a path value the read cannot take)."""
    handler = scope.get("route_handler")
    if scope.get("type") != "http" or scope.get("method") not in ("GET", "HEAD"):
        return None
    read = fold_of(handler.opt) if handler is not None else None
    level = level_of(handler) if read is not None else None
    if read is None or level not in ROLE_ORDER:
        return None
    params = read.params(scope.get("path_params") or {})
    if params is None:
        return None
    return read, _fold_sql(read.call, level), params


@cache
def _fold_sql(call: str, level: Level) -> str:
    roles = tuple(str(role) for role in ROLE_ORDER[ROLE_ORDER.index(level) :])
    return signed_in_with_sql(call, roles)


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
