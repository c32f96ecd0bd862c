"""create_app(): plugins, middleware, and the routers every domain declares (app.domains)."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.middleware import DefineMiddleware
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, ControllerRouterHandler

from app import domains
from app.core import db, health, redis, templating
from app.core import routes as core_routes
from app.core.access import access_checked, check_declared, public_router
from app.core.errors import EXCEPTION_HANDLERS
from app.core.headers import security_headers_before_send
from app.core.heap import settle_heap
from app.core.proxy import proxy_middleware
from app.core.web import check_csrf, session_middleware, vary_on_htmx
from app.ops.targets import warn_about_placement
from app.privacy.middleware import READ_WITH_SESSION, privacy_part
from app.realtime.channels import create_channels_plugin
from app.realtime.direct import keep_raw_send
from app.realtime.outage import socket_registry_middleware
from app.settings import ROOT, get_settings

MAX_BODY = 2 * 1024 * 1024  # forms; uploads that need more set their own limit


def create_app() -> Litestar:
    """Build the web app; Redis and the DB pool are opened on startup inside the loop (without
    waiting for either server: while one is down, pages answer 503 until it is back)."""
    settings = get_settings()
    # templates are read again when their file changes only while developing (a page would
    # otherwise check every template file it uses on every render)
    templating.env.auto_reload = settings.is_dev

    async def on_startup() -> None:
        await db.start_pool()
        await redis.connect(settings.redis_url)
        # backups on one disk: told at every start, once the schema is current (a release
        # starts processes while `odex migrate` still runs)
        health.when_migrated(lambda: warn_about_placement(settings), name="backup placement")

    async def on_shutdown() -> None:
        await health.stop_background()
        await redis.disconnect()
        await db.close_pool()

    route_handlers: list[ControllerRouterHandler] = [
        *core_routes.ROUTES,
        *(route for domain in domains.load() for route in domain.routes),
        public_router([create_static_files_router(path="/static", directories=[ROOT / "static"])]),
    ]
    config = AppConfig(
        route_handlers=route_handlers,
        plugins=[create_channels_plugin(settings.redis_url)],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        # who may use the route (a level router's HTTP routes), then the CSRF token
        before_request=access_checked(check_csrf),
        # also router 404s, which skip middleware
        before_send=[security_headers_before_send, vary_on_htmx],
        middleware=[
            DefineMiddleware(proxy_middleware),  # first: everything after sees the real client
            DefineMiddleware(socket_registry_middleware),  # an outage closes every live socket
            # one layer: the session (the consent caches and the latest policy read with it,
            # one round trip), the privacy state (consent + usage), the request's pooled
            # connection and the one transaction of pages declared ONE_READ
            DefineMiddleware(session_middleware, also_read=READ_WITH_SESSION, hooks=[privacy_part]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_BODY,
        debug=False,
    )
    app = Litestar.from_config(config)
    check_declared(app)  # a route without a declared access level: refuse to start
    return app


def create_served_app() -> ASGIApp:
    """create_app() as `odex serve` runs it: each websocket scope also carries the server's own
    `send`, so the fan-out writes a push, serialised once, to every socket (app/realtime/direct);
    and the built app is frozen out of the garbage collector's walks (app/core/heap)."""
    served = keep_raw_send(create_app())
    settle_heap()  # the built app lives as long as the process: out of the collector's way
    return served
