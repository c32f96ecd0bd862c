"""How an amount of money reads in code (mail texts, activity lines): "12,500.00 EUR", no
locale. Pages read it in the reader's locale instead (app/core/formats.py: the `amount` and
`money` template filters). Also the ISO 4217 currency list (from pycountry)."""

from __future__ import annotations

import functools
from decimal import Decimal

import pycountry

# Codes ISO 4217 lists that are not money one prices a deal in (precious metals, testing,
# fund units, "no currency").
_NOT_TRADED = {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA"}
_NOT_TRADED |= {"XXX", "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"}
COMMON = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN")


def amount(value: Decimal | float | int) -> str:
    """12500 -> "12,500.00"."""
    return f"{value:,.2f}"


def money(value: Decimal | float | int, currency: str) -> str:
    """12500, "EUR" -> "12,500.00 EUR"."""
    return f"{amount(value)} {currency}"


@functools.cache
def currencies() -> dict[str, str]:
    """ISO 4217 code -> name, the commonly used ones first, then the rest by code."""
    names = {c.alpha_3: c.name for c in pycountry.currencies if c.alpha_3 not in _NOT_TRADED}
    ordered = {code: names[code] for code in COMMON if code in names}
    ordered.update({code: names[code] for code in sorted(names) if code not in ordered})
    return ordered
