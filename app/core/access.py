"""Declared access levels: every route sits in a router that names who may use it.

The levels, weakest first: `public` (anyone), `signed_in` (a signed-in person acting on their
own account), `member`, `admin`, `owner` (a role in the workspace the session is in), and
`staff` (Odex platform staff: `users.is_staff`, which no workspace role leads to).

Core knows the levels and how to judge a principal against one; who the principal is (the
signed-in user and their membership of *this* workspace) is resolved by the accounts domain and
handed in as `resolve`. `check_declared(app)` makes the app refuse to start when any route
lacks a level or the guard that enforces it. Services still check what depends on the data
(the last owner, who may give which role, whose note it is).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any, Protocol

from litestar import Litestar, Router
from litestar.enums import ScopeType
from litestar.exceptions import WebSocketException
from litestar.handlers import HTTPRouteHandler, WebsocketRouteHandler
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import ASGIRoute, HTTPRoute, WebSocketRoute
from litestar.types import ControllerRouterHandler, Dependencies

from app.core.errors import Forbidden, LoginRequired
from app.core.http_types import Connection, Req

LEVEL_KEY = "access"  # the handler `opt` entry that carries the declared level
RESOLVE_KEY = "access_resolve"  # ... and the principal's `resolve` (level routers' HTTP routes)


class Level(StrEnum):
    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"
    STAFF = "staff"


# Workspace roles in rising order; a role satisfies its own level and every one below it.
ROLE_ORDER = (Level.MEMBER, Level.ADMIN, Level.OWNER)

REFUSALS = {
    Level.ADMIN: "Only admins and owners of this workspace can do this.",
    Level.OWNER: "Only owners of this workspace can do this.",
    Level.STAFF: "Only Odex staff can open this page.",
}
MFA_HOLD = (
    "Your workspace requires two-factor authentication for owners. "
    "Turn it on under Settings → Security (/settings/security) to continue."
)

# WebSocket close codes for a refused handshake (4000-4999 belong to the application).
WS_UNAUTHENTICATED = 4401
WS_FORBIDDEN = 4403


class Principal(Protocol):
    """What a guard needs to know about the signed-in person in the session's workspace."""

    @property
    def role(self) -> str: ...

    @property
    def is_staff(self) -> bool: ...

    @property
    def must_enrol_mfa(self) -> bool: ...


Resolve = Callable[[Connection], Awaitable[Principal | None]]


def refusal(level: Level, principal: Principal | None) -> str | None:
    """Why `principal` may not use a route of `level` (None: allowed; "" : must sign in).

    An owner held by the workspace's MFA rule may still manage their own account
    (`signed_in` routes, where MFA is turned on) but nothing else until they enrol.
    """
    if level is Level.PUBLIC:
        return None
    if principal is None:
        return ""
    if level is Level.SIGNED_IN:
        return None
    if principal.must_enrol_mfa:
        return MFA_HOLD
    if level is Level.STAFF:
        return None if principal.is_staff else REFUSALS[Level.STAFF]
    if principal.role not in ROLE_ORDER:
        return REFUSALS.get(level, REFUSALS[Level.ADMIN])
    if ROLE_ORDER.index(Level(principal.role)) >= ROLE_ORDER.index(level):
        return None
    return REFUSALS[level]


def level_of(handler: BaseRouteHandler) -> Level | None:
    raw = handler.opt.get(LEVEL_KEY)
    return raw if isinstance(raw, Level) else None


async def judge(connection: Connection, level: Level | None, resolve: Resolve) -> None:
    """Refuse `connection` unless its principal may use a route of `level`."""
    if level is None:  # check_declared refuses such an app; never let one through
        raise Forbidden("This page has no declared access level.")
    if level is Level.PUBLIC:
        return
    why = refusal(level, await resolve(connection))
    if why is None:
        return
    if connection.scope["type"] == ScopeType.WEBSOCKET:
        code = WS_UNAUTHENTICATED if why == "" else WS_FORBIDDEN
        raise WebSocketException(detail=why or "log in first", code=code)
    if why == "":
        raise LoginRequired()
    raise Forbidden(why)


def access_guard(resolve: Resolve) -> Callable[..., Awaitable[None]]:
    """The guard of a router (websockets, the API): judges the connection against the
    handler's level."""

    async def guard(connection: Connection, handler: BaseRouteHandler) -> None:
        await judge(connection, level_of(handler), resolve)

    guard.odex_access_guard = True  # type: ignore[attr-defined]
    return guard


BeforeRequest = Callable[[Req], Awaitable[Any]]


def access_checked(before_request: BeforeRequest) -> BeforeRequest:
    """The app's `before_request` hook: the access check of a level router's HTTP route (its
    level and `resolve` in the handler's `opt`), then `before_request` (the CSRF check).

    The same judgement as the guard, run by our own hook: Litestar runs each guard with a copy
    of the route handler (25 µs of every request), a hook with nothing to copy. A route that
    relies on it but would not run it (a layer with its own `before_request`) makes
    check_declared refuse to start."""

    async def check(request: Req) -> Any:
        handler = request.route_handler
        resolve = handler.opt.get(RESOLVE_KEY)
        if resolve is not None:
            await judge(request, level_of(handler), resolve)
        return await before_request(request)

    check.odex_access_check = True  # type: ignore[attr-defined]
    return check


def level_router(
    level: Level,
    handlers: Sequence[ControllerRouterHandler],
    *,
    resolve: Resolve,
    dependencies: Dependencies | None = None,
) -> Router:
    """A router at `/` whose handlers all need `level` (the check and dependencies once): its
    HTTP routes are judged by the app's `before_request` (`access_checked`), from the level
    and `resolve` in their `opt`; a websocket route by the access guard."""
    sockets = [h for h in handlers if isinstance(h, WebsocketRouteHandler)]
    others = [h for h in handlers if not isinstance(h, WebsocketRouteHandler)]
    if sockets:
        others.append(Router(path="/", route_handlers=sockets, guards=[access_guard(resolve)]))
    return Router(
        path="/",
        route_handlers=others,
        dependencies=dependencies,
        opt={LEVEL_KEY: level, RESOLVE_KEY: resolve},
    )


async def _nobody(connection: Connection) -> Principal | None:
    return None


def public_router(handlers: Sequence[ControllerRouterHandler]) -> Router:
    """Routes anyone may use (core's own and static files: no principal is ever resolved)."""
    return level_router(Level.PUBLIC, handlers, resolve=_nobody)


def route_levels(app: Litestar) -> Iterable[tuple[str, str, BaseRouteHandler, Level | None]]:
    """(path, method, handler, declared level) for every route of the app, the socket too."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in sorted(handler.http_methods):
                    if method == "OPTIONS" and handler.fn.__name__.startswith("options_handler"):
                        continue  # Litestar's automatic CORS preflight answer
                    yield route.path, method, handler, level_of(handler)
        elif isinstance(route, WebSocketRoute | ASGIRoute):
            kind = "WEBSOCKET" if isinstance(route, WebSocketRoute) else "ASGI"
            yield route.path, kind, route.route_handler, level_of(route.route_handler)


def check_declared(app: Litestar) -> None:
    """Refuse to start an app with a route that has no declared level or no access guard."""
    missing = []
    for path, method, handler, level in route_levels(app):
        guarded = any(getattr(g, "odex_access_guard", False) for g in handler.resolve_guards())
        checked = (
            isinstance(handler, HTTPRouteHandler)
            and handler.opt.get(RESOLVE_KEY) is not None
            and getattr(handler.resolve_before_request(), "odex_access_check", False)
        )
        if level is None or not (guarded or checked):
            missing.append(f"{method} {path}")
    if missing:
        raise RuntimeError(
            "Every route needs a declared access level (app.core.access.level_router): "
            + ", ".join(missing)
        )
