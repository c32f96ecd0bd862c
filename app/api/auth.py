"""Bearer authentication of /api/v1: the token's membership as the principal, at its creator's
CURRENT role, within the token's scopes, under the token's rate limit.

Cookies never authenticate here (the session middleware skips /api/). Each request reads the
membership afresh (app.accounts.services.load_current), so a demoted member's tokens act at the
new role at once and a removed member's tokens answer 401.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from litestar import Router
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.types import BeforeRequestHookHandler, ControllerRouterHandler, Scope

from app.accounts.schemas import Current
from app.accounts.services import load_current
from app.api.listing import provide_filters
from app.api.tokens import TokenHolder, allows, holder_of
from app.core import formats
from app.core.access import LEVEL_KEY, Level, access_guard
from app.core.errors import Forbidden, LoginRequired
from app.core.http_types import Connection, Req
from app.core.problems import AUTH_DETAIL_KEY, FAILED_KEY
from app.core.ratelimit import Limit, hit, too_many
from app.core.web import SAFE_METHODS
from app.security.audit import record_audit

CURRENT_KEY = "odex.api_current"
HOLDER_KEY = "odex.api_holder"
RESOLVED_KEY = "odex.api_resolved"
SCOPE_OPT = "api_scope"  # a handler's (object, "read" | "write")
RATE_WINDOW = 60


def _bearer(connection: Connection) -> str:
    header = connection.headers.get("authorization", "")
    kind, _, value = header.partition(" ")
    return value.strip() if kind.lower() == "bearer" else ""


async def resolve_token(connection: Connection) -> Current | None:
    """The token's member in the token's workspace (None: 401); once per request. Counts the
    request against the token's rate limit (429 with Retry-After past it)."""
    scope = cast("dict[str, object]", connection.scope)
    if scope.get(RESOLVED_KEY):
        cached = scope.get(CURRENT_KEY)
        return cached if isinstance(cached, Current) else None
    scope[RESOLVED_KEY] = True
    raw = _bearer(connection)
    if not raw:
        scope[AUTH_DETAIL_KEY] = "Send an API token: `Authorization: Bearer odx_…`."
        return None
    holder, why = await holder_of(raw)
    if holder is None:
        scope[AUTH_DETAIL_KEY] = why
        return None
    current = await load_current(holder.user_id, holder.tenant_id)
    if current is None:
        scope[AUTH_DETAIL_KEY] = "The token's owner is no longer a member of this workspace."
        return None
    wait = await hit(Limit("api-token", holder.rate_per_minute, RATE_WINDOW), str(holder.id))
    if wait:
        raise too_many(f"This token's limit is {holder.rate_per_minute} requests a minute.", wait)
    formats.use(current.time_zone, current.locale)
    scope[HOLDER_KEY] = holder
    scope[CURRENT_KEY] = current
    return current


async def provide_api_current(scope: Scope) -> Current:
    """The `current` dependency of API routes (the guard resolved it)."""
    current = scope.get(CURRENT_KEY)
    if not isinstance(current, Current):
        raise LoginRequired()
    return current


async def scope_guard(connection: Connection, handler: BaseRouteHandler) -> None:
    """Refuse a route whose object and access the token's scopes don't include (403)."""
    wanted = handler.opt.get(SCOPE_OPT)
    holder = connection.scope.get(HOLDER_KEY)
    if not isinstance(holder, TokenHolder) or wanted is None:
        return
    obj, access = wanted
    if not allows(holder.scopes, obj, access):
        raise Forbidden(f"This token's scopes don't include {obj}:{access}.")


async def audit_write(request: Req) -> None:
    """A write that went through is in the audit log, naming the token (reads are not: they
    would flood it; a token's last use is on its settings row)."""
    holder, current = request.scope.get(HOLDER_KEY), request.scope.get(CURRENT_KEY)
    if request.method in SAFE_METHODS or request.scope.get(FAILED_KEY):
        return
    if isinstance(holder, TokenHolder) and isinstance(current, Current):
        await record_audit(
            holder.tenant_id,
            holder.user_id,
            "api.write",
            f"api_token:{holder.id}",
            {"method": request.method, "path": request.url.path},
            actor_label=current.email,
        )


def api_routes(
    handlers: Sequence[ControllerRouterHandler],
    before_request: BeforeRequestHookHandler | None = None,
) -> Router:
    """Routes under /api/v1 for any member holding a token (services check the role);
    `before_request` checks each request against the API's schema (app/api/enforce.py)."""
    return Router(
        path="/api/v1",
        route_handlers=list(handlers),
        # the level guard (which resolves the token) first, then the scope check
        guards=[access_guard(resolve_token), scope_guard],
        dependencies={
            "current": Provide(provide_api_current),
            "filters": Provide(provide_filters),
        },
        opt={LEVEL_KEY: Level.MEMBER},
        after_response=audit_write,
        before_request=before_request,
    )


def needs(obj: str, access: str) -> dict[str, object]:
    """A handler's `opt` naming the scope it needs: `@get(..., opt=needs("deals", "read"))`."""
    return {SCOPE_OPT: (obj, access)}
