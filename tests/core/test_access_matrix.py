"""The generated authorization matrix: every route in `app.routes` (HTTP and the websocket),
exercised as every kind of principal, with the expected outcome derived from the level the
route declares (app.core.access) — no hand list of routes, so a new route is covered as soon
as it exists, and a route whose guard is gone fails here.

Principals (tests/core/access_world.py): anonymous; member, admin and owner of workspace W;
the owner of another workspace who is a member of W; Odex staff who is a member of W; a
removed member whose session is still open; a revoked session; someone who passed the
password but not MFA; the owner of a workspace whose deletion is scheduled (it stays usable
during the grace period); the owner of a workspace being purged; an owner held by their
workspace's owner-MFA rule. The ids of workspace X (and of W, for those not in W) are
another workspace's: a principal the guard lets through must get 404 for them.

The /api/v1 routes authenticate by bearer token only: each principal sends the token the same
person would hold (issued while they could; the removed member's went with the membership, the
revoked session's is revoked, the one short of MFA holds an expired one), the outcome follows
the person's role *now*, and the session cookie alone is refused (401).

Public routes have no guard: every principal reads them (GET), and only the anonymous
visitor sends them forms (a signed-in principal posting /logout would end its own session).
"""

from __future__ import annotations

import asyncio
import html
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from litestar.channels import ChannelsPlugin

from app.core.access import MFA_HOLD, REFUSALS, Level, route_levels
from tests.core.access_world import ORIGIN, Principal, World, build_world

LOGIN, FORBIDDEN, HELD, ALLOWED = "sign-in", "refused for the role", "held for MFA", "allowed"
RANK = {"member": 1, "admin": 2, "owner": 3}
API = "/api/v1/"  # bearer-token routes (app/api): each principal sends its token there
PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")


def _made_up() -> dict[str, tuple[str, str | None]]:
    from tests.core.access_world import FOREIGN_PARAMS

    return {name: ("", str(uuid.uuid4())) for name in FOREIGN_PARAMS}


MADE_UP = _made_up()


def expected(level: Level, p: Principal) -> str:
    """What the declared level promises for this principal (written apart from the guard)."""
    if level is Level.PUBLIC:
        return ALLOWED
    if not p.signed_in:
        return LOGIN
    if level is Level.SIGNED_IN:
        return ALLOWED
    if p.held:
        return HELD
    if level is Level.STAFF:
        return ALLOWED if p.staff else FORBIDDEN
    assert p.role is not None
    return ALLOWED if RANK[p.role] >= RANK[level.value] else FORBIDDEN


def _says(response: httpx.Response, message: str) -> bool:
    return message in response.text or html.escape(message) in response.text


def outcome(response: httpx.Response, level: Level) -> str:
    """Which of the four outcomes a response is (a guard's refusal, or anything else)."""
    target = response.headers.get("location") or response.headers.get("hx-redirect") or ""
    if response.status_code in (200, 303) and target.startswith("/login"):
        return LOGIN
    problem = response.headers.get("content-type", "").startswith("application/problem+json")
    if response.status_code == 401 and problem:  # the API's "send a valid token"
        return LOGIN
    if response.status_code == 403 and _says(response, MFA_HOLD):
        return HELD
    if response.status_code == 403 and _says(response, REFUSALS.get(level, "\0")):
        return FORBIDDEN
    return ALLOWED


def fill(path: str, ids: dict[str, tuple[str, str | None]], foreign: bool) -> str | None:
    """The path with W's sample values, or X's where X has one (None: nothing foreign)."""
    names = PARAM.findall(path)
    if foreign and not any(ids.get(n, ("", None))[1] for n in names):
        return None

    def value(match: re.Match[str]) -> str:
        own, other = ids.get(match.group(1), ("00000000-0000-4000-8000-000000000000", None))
        return other if foreign and other else own

    return PARAM.sub(value, path)


async def socket_handshake(app: Any, cookie: str) -> tuple[str, int]:
    """Open /ws in process like a browser; ('accept', 0) or ('close', code)."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "http_version": "1.1",
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"origin", ORIGIN.encode()),
            (b"cookie", cookie.encode()),
        ],
        "client": ("10.77.0.9", 1),
        "server": ("testserver", 80),
        "subprotocols": [],
        "state": {},
    }
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    first: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def send(message: dict[str, Any]) -> None:
        if not first.done():
            first.set_result(message)

    task = asyncio.create_task(app(scope, inbox.get, send))
    message = await asyncio.wait_for(first, 10)
    await inbox.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(task, 10)
    if message["type"] == "websocket.accept":
        return "accept", 0
    return "close", int(message.get("code", 0))


async def run_principal(app: Any, world: World, p: Principal) -> tuple[list[str], int]:
    """Every route as `p`; the problems found and how many requests were sent."""
    problems: list[str] = []
    sent = 0
    cookie = "; ".join(f"{k}={v}" for k, v in p.client.cookies.items())
    for path, method, _handler, level in sorted(route_levels(app), key=lambda r: (r[0], r[1])):
        if method in ("HEAD", "ASGI") or level is None:
            continue
        want = expected(level, p)
        if method == "WEBSOCKET":
            kind, code = await socket_handshake(app, cookie)
            wanted = {ALLOWED: ("accept", 0), LOGIN: ("close", 4401)}.get(want, ("close", 4403))
            if (kind, code) != wanted:
                problems.append(f"{p.name}: {path} socket -> {kind} {code}, expected {want}")
            continue
        if level is Level.PUBLIC and method != "GET" and not p.anonymous:
            continue
        own_url = fill(path, world.ids, foreign=False)
        assert own_url is not None
        for url, is_foreign in ((own_url, not p.in_w), (fill(path, world.ids, True), True)):
            if url is None or (is_foreign and want != ALLOWED):
                continue
            api = path.startswith(API)
            for htmx in (False, True) if want != ALLOWED else (False,):
                headers = {"X-CSRF-Token": p.client.csrf}
                if htmx:
                    headers["HX-Request"] = "true"
                if api and p.token:  # the API reads the bearer token only (cookies go too)
                    headers["Authorization"] = f"Bearer {p.token}"
                data = {} if method != "GET" else None
                response = await p.client.request(method, url, data=data, headers=headers)
                sent += 1
                got = outcome(response, level)
                where = f"{p.name}: {method} {url}{' (htmx)' if htmx else ''} [{level}]"
                if api and p.signed_in and not is_foreign and not htmx:
                    # the same request with the session cookie alone: never let in
                    cookie_only = {k: v for k, v in headers.items() if k != "Authorization"}
                    alone = await p.client.request(method, url, data=data, headers=cookie_only)
                    sent += 1
                    if outcome(alone, level) != LOGIN:
                        problems.append(f"{where} -> {alone.status_code} with a cookie, no token")
                if response.status_code >= 500:
                    problems.append(f"{where} -> {response.status_code}")
                elif level is Level.PUBLIC:
                    continue  # no guard: reachable by all, nothing to predict beyond no 500
                elif got != want:
                    problems.append(f"{where} -> {got} ({response.status_code}), expected {want}")
                elif (
                    want == ALLOWED
                    and response.status_code == 403
                    and _says(response, "Your form expired")
                ):
                    problems.append(f"{where} -> CSRF refusal: the matrix lost its token")
                elif want == ALLOWED and is_foreign and PARAM.search(path):
                    if response.status_code == 404:
                        continue
                    # refused before any lookup (an empty form)? then a made-up id must get the
                    # very same answer: nothing tells another workspace's record from none
                    made_up = fill(path, {**world.ids, **MADE_UP}, foreign=True) or url
                    again = await p.client.request(method, made_up, data=data, headers=headers)
                    sent += 1
                    if (
                        method == "GET"
                        or 300 <= response.status_code < 400
                        or again.status_code != response.status_code
                    ):
                        problems.append(
                            f"{where} -> {response.status_code} for another workspace's ids"
                            f" ({again.status_code} for ids that exist nowhere)"
                        )
    return problems, sent


@pytest.fixture(scope="module")
async def world(app: Any) -> AsyncIterator[World]:
    plugin = app.plugins.get(ChannelsPlugin)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(plugin)  # the socket's subscriptions need it started
        yield await build_world(app, stack)


async def test_every_route_declares_a_level_and_the_app_refuses_one_that_does_not(
    app: Any,
) -> None:
    from litestar import Litestar, get

    from app.core.access import check_declared, public_router

    declared = list(route_levels(app))
    assert {m for _, m, _, _ in declared} >= {"GET", "POST", "WEBSOCKET"}
    assert all(level is not None for *_, level in declared)

    @get("/forgotten")
    async def forgotten() -> str:
        return "no level"

    with pytest.raises(RuntimeError, match="GET /forgotten"):
        check_declared(Litestar([public_router([]), forgotten]))


async def test_a_route_whose_layer_would_skip_the_access_check_is_refused(app: Any) -> None:
    """A level router's HTTP routes are judged by the app's `before_request`
    (`access_checked`), not by a guard: a layer with a `before_request` of its own would
    replace it, so the app refuses to start with such a route; with the check, it starts."""
    from litestar import Litestar, Router, get

    from app.accounts.deps import routes_at
    from app.core.access import Level, access_checked, check_declared
    from app.core.web import check_csrf

    @get("/members-only")
    async def members_only() -> str:
        return "secret"

    async def own_hook(request: Any) -> None:
        return None

    for level in (Level.MEMBER, Level.SIGNED_IN):
        shadowed = Router(
            "/", route_handlers=[routes_at(level, [members_only])], before_request=own_hook
        )
        with pytest.raises(RuntimeError, match="GET /members-only"):
            check_declared(Litestar([shadowed], before_request=access_checked(check_csrf)))
        with pytest.raises(RuntimeError, match="GET /members-only"):  # no check at all
            check_declared(Litestar([routes_at(level, [members_only])]))
        check_declared(
            Litestar(
                [routes_at(level, [members_only])],
                before_request=access_checked(check_csrf),
                openapi_config=None,  # its own schema routes declare no level
            )
        )
    # every route of the app is judged by one or the other, and the page routes by the hook
    judged = {
        type(handler).__name__
        for _, _, handler, _ in route_levels(app)
        if not any(getattr(g, "odex_access_guard", False) for g in handler.resolve_guards())
    }
    assert judged and judged <= {
        "get",
        "head",
        "post",
        "put",
        "patch",
        "delete",
        "HTTPRouteHandler",
    }


async def test_authorization_matrix(app: Any, world: World) -> None:
    started = time.monotonic()
    results = await asyncio.gather(*(run_principal(app, world, p) for p in world.principals))
    problems = [line for found, _ in results for line in found]
    sent = sum(count for _, count in results)
    routes = sum(1 for _, m, _, _ in route_levels(app) if m not in ("HEAD", "ASGI"))
    assert routes > 100 and sent > routes * 8  # every route, as every principal
    assert not problems, f"{len(problems)} of {sent} requests broke the matrix:\n" + "\n".join(
        problems
    )
    assert time.monotonic() - started < 120
