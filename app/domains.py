"""The domains as loaded objects: app.core.domain.DOMAIN_NAMES, each's app/<name>/domain.py.

Composition root (with app.asgi, app.worker, app.seed, app.cli): it may import every domain.
`load()` wires them once per process (event subscriptions, layout slots, registrations into
lower domains, the data map's files loaded and checked); the web app, the worker, the demo seed
and the test session call it.
"""

from __future__ import annotations

import importlib

from app.core import datamap, events, templating
from app.core.domain import DOMAIN_NAMES, Domain

_loaded: tuple[Domain, ...] = ()


def _import(name: str) -> Domain:
    domain = importlib.import_module(f"app.{name}.domain").DOMAIN
    if not isinstance(domain, Domain) or domain.name != name:
        raise TypeError(f"app/{name}/domain.py must export DOMAIN = Domain(name={name!r}, ...)")
    return domain


def load() -> tuple[Domain, ...]:
    """Every domain, lowest first, wired once: subscriptions, slots, sidebar, registrations."""
    global _loaded
    if not _loaded:
        domains = tuple(_import(name) for name in DOMAIN_NAMES)
        for domain in domains:
            for subscription in domain.subscriptions:
                events.subscribe(subscription.event, subscription.handler)
            for slot in domain.slots:
                templating.add_slot(slot)
            for entry in domain.nav:
                templating.add_nav(entry)
            for wire in domain.wiring:
                wire()
        events.mark_wired()
        datamap.places()  # the domains' map files, checked now: a slip in one fails start-up
        _loaded = domains
    return _loaded
