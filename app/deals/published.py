"""A deal's fields that every shape Odex hands out starts with, defined once: the API's DealOut
(app/api/schemas.py) and the webhooks' deal data (app/webhooks/schemas.py). Both are public
contracts: a field is only ever added, after the ones here."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import msgspec


class DealHead(msgspec.Struct, frozen=True, kw_only=True):
    """Keyword-only, so that each shape adds its own fields after these."""

    id: UUID
    title: str
    amount: Decimal
    currency: str
    pipeline_id: UUID
    stage_id: UUID
