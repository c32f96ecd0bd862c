"""What a domain declares about itself, once, in app/<domain>/domain.py, and the one ordered
list of the domains.

The composition roots iterate `DOMAIN_NAMES` (app.domains loads each `Domain`): app.asgi takes
their routes, app.worker their jobs and crons, app.piccolo_conf their Piccolo apps, templating
their template folders and layout slots, the data map their `datamap.toml` files. A new domain is
a folder with a domain.py and one name added here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arq.cron import CronJob
from arq.worker import Function
from litestar.types import ControllerRouterHandler

# Lowest first: a domain imports only those before it (enforced by import-linter in
# `make lint`, whose layers in pyproject.toml follow this order; siblings there are independent).
DOMAIN_NAMES: tuple[str, ...] = (
    "accounts",
    "realtime",
    "notifications",
    "security",
    "billing",
    "crm",
    "deals",
    "invoices",
    "jobs",
    "ops",
    "privacy",
    "search",
    "support",
    "webhooks",
    "api",
    "attachments",
)


# an arq job: its coroutine function (ctx first), or the function wrapped by arq.func
ArqJob = Callable[..., Awaitable[object]] | Function


@dataclass(frozen=True)
class Subscription:
    """`handler` runs on every `event` emitted (app.core.events)."""

    event: type
    handler: Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Slot:
    """A template a shared layout includes in one of its areas, by `order` (low first).

    Areas: "body_top" (every page, layout/base.html), "app_top" (signed-in pages, before the
    shell), "header_actions" (signed-in pages, the header's right-hand buttons) and
    "record_panel" (below a contact's, company's, deal's or invoice's page; `record_type` and
    `record_id` say which record).

    `kept_by`: when the template reads nothing but these attributes of the signed-in user
    (`current`) and the globals, its output is kept rendered per their values (rendered
    with only them in reach, so reading anything else fails loudly); None: rendered on every
    page with the whole context (a banner that reads the request).

    `varies_by` (a slot that is not `kept_by`): what of the request (its ASGI scope) the
    template reads besides the page's path, query, signed-in user and CSRF token, as a
    hashable value, so a page kept rendered whole around its parts (`render_with_parts` with
    `kept_by`) is kept per it too; a page that renders a slot with neither is never kept."""

    area: str
    template: str
    order: int = 50
    kept_by: tuple[str, ...] | None = None
    varies_by: Callable[[Mapping[str, Any]], Hashable] | None = None


@dataclass(frozen=True)
class NavEntry:
    """A sidebar link in `section` ("main", "workspace", "account" or "help"), by `order`;
    shown to every signed-in `audience="member"`, or only to admins / staff."""

    section: str
    href: str
    icon: str
    label: str
    order: int = 50
    audience: str = "member"


@dataclass(frozen=True)
class Domain:
    """One domain's contributions to the app, named once."""

    name: str
    routes: Sequence[ControllerRouterHandler] = ()  # Litestar routers and handlers
    jobs: Sequence[ArqJob] = ()  # arq job functions
    crons: Sequence[CronJob] = ()  # arq cron jobs
    slots: Sequence[Slot] = ()
    nav: Sequence[NavEntry] = ()
    subscriptions: Sequence[Subscription] = ()
    # run once at start-up: register into a lower domain's registry (never the reverse import)
    wiring: Sequence[Callable[[], None]] = field(default_factory=tuple)
