"""How an amount of money reads, the one home of it: "12,500.00 EUR" for everyone (no locale
guessing). Templates use the same functions as the `amount` and `money` filters."""

from __future__ import annotations

from decimal import Decimal


def amount(value: Decimal | float | int) -> str:
    """12500 -> "12,500.00"."""
    return f"{value:,.2f}"


def money(value: Decimal | float | int, currency: str) -> str:
    """12500, "EUR" -> "12,500.00 EUR"."""
    return f"{amount(value)} {currency}"
