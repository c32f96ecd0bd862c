"""Money on deals: the ISO 4217 currency list (from pycountry) and exact amount parsing."""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

import pycountry

MAX_AMOUNT = Decimal("999999999999.99")  # numeric(14, 2)
_AMOUNT_RE = re.compile(r"^\d{1,15}(\.\d{1,2})?$")
# Codes ISO 4217 lists that are not money one prices a deal in (precious metals, testing,
# fund units, "no currency").
_NOT_TRADED = {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA"}
_NOT_TRADED |= {"XXX", "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"}
COMMON = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN")


@functools.cache
def currencies() -> dict[str, str]:
    """ISO 4217 code -> name, the commonly used ones first, then the rest by code."""
    names = {c.alpha_3: c.name for c in pycountry.currencies if c.alpha_3 not in _NOT_TRADED}
    ordered = {code: names[code] for code in COMMON if code in names}
    ordered.update({code: names[code] for code in sorted(names) if code not in ordered})
    return ordered


def clean_currency(raw: str, errors: dict[str, str]) -> str:
    code = raw.strip().upper()
    if code not in currencies():
        errors["currency"] = "Choose a currency from the list (ISO 4217 code, like EUR or USD)."
    return code


def clean_amount(raw: str, errors: dict[str, str]) -> Decimal:
    """A non-negative amount with at most two decimals; thousands separators allowed."""
    text = raw.strip().replace(",", "").replace(" ", "").replace("_", "")
    if text == "":
        return Decimal("0")
    if text.startswith("-"):
        errors["amount"] = "The amount can't be negative."
        return Decimal("0")
    if not _AMOUNT_RE.match(text):
        errors["amount"] = "Enter the amount as a number with up to two decimals, like 12500.00."
        return Decimal("0")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        errors["amount"] = "Enter the amount as a number, like 12500.00."
        return Decimal("0")
    if amount > MAX_AMOUNT:
        errors["amount"] = "That amount is too large (at most 999,999,999,999.99)."
        return Decimal("0")
    return amount


def format_amount(amount: Decimal, currency: str) -> str:
    """12500 EUR -> "12,500.00 EUR" (no locale guessing: the same text for everyone)."""
    return f"{amount:,.2f} {currency}"
