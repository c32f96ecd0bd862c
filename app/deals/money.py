"""Money on deals: the largest amount; the ISO 4217 list lives in app/core/money.py (the
workspace's default currency in accounts picks from it too)."""

from __future__ import annotations

from decimal import Decimal

from app.core.money import COMMON, currencies

MAX_AMOUNT = Decimal("999999999999.99")  # numeric(14, 2)

__all__ = ["COMMON", "MAX_AMOUNT", "currencies"]
