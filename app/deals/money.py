"""Money on deals: the largest amount; the ISO 4217 list lives in app/core/money.py (the
workspace's default currency in accounts picks from it too)."""

from __future__ import annotations

from decimal import Decimal

from app.core.forms import Choice
from app.core.money import COMMON, currencies

MAX_AMOUNT = Decimal("999999999999.99")  # numeric(14, 2)


def currency_rule(message: str, *, required: bool = True) -> Choice:
    """A deal's currency as a form or an import row gives it: an ISO 4217 code, upper-cased."""
    return Choice("the currency", currencies, upper=True, required=required, message=message)


__all__ = ["COMMON", "MAX_AMOUNT", "currencies", "currency_rule"]
