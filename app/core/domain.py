"""What a domain declares about itself, once, in app/<domain>/domain.py.

The composition roots (app.asgi, app.worker, app.piccolo_conf, the data map, templating)
iterate the ordered list in app.domains instead of naming each domain again; a domain's
start-up wiring (event subscriptions, pages it lends a lower domain) is declared here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Subscription:
    """`handler` runs on every `event` emitted (app.core.events)."""

    event: type
    handler: Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Domain:
    """One domain's contributions to the app, named once."""

    name: str
    subscriptions: Sequence[Subscription] = ()
    # run once at start-up: register into a lower domain's registry (never the reverse import)
    wiring: Sequence[Callable[[], None]] = ()
