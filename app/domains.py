"""The domains, in dependency order (lowest first): the one list to extend with a new domain.

Layers (enforced by import-linter, `make lint`): app.settings < app.core < accounts < realtime
< notifications < security < billing < crm < deals < invoices < support | privacy | ops
< jobs < the composition roots (this module, app.asgi, app.cli, app.seed, app.processes).
"""

from __future__ import annotations

from app.billing.domain import DOMAIN as BILLING
from app.core import events
from app.core.domain import Domain
from app.deals.domain import DOMAIN as DEALS
from app.security.domain import DOMAIN as SECURITY

DOMAINS: tuple[Domain, ...] = (SECURITY, BILLING, DEALS)

_loaded = False


def load() -> tuple[Domain, ...]:
    """Wire every domain once: event subscriptions, then the registrations into lower domains."""
    global _loaded
    if not _loaded:
        for domain in DOMAINS:
            for subscription in domain.subscriptions:
                events.subscribe(subscription.event, subscription.handler)
            for wire in domain.wiring:
                wire()
        events.mark_wired()
        _loaded = True
    return DOMAINS
