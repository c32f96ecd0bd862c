"""Exact money arithmetic for invoices: Decimal only, cents rounded half-up (not banker's)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK")


def to_cents(value: Decimal) -> Decimal:
    """Round to cents the way accountants do: 0.005 -> 0.01 (ROUND_HALF_UP)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal  # percent, e.g. 19 or 7.5

    @property
    def net(self) -> Decimal:
        return to_cents(self.quantity * self.unit_price)


@dataclass
class Totals:
    subtotal: Decimal = Decimal("0.00")
    tax_total: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")
    # (rate, taxable amount, tax) per rate, as printed on the invoice
    by_rate: list[tuple[Decimal, Decimal, Decimal]] = field(default_factory=list)


def compute_totals(lines: Iterable[Line]) -> Totals:
    """Subtotal = sum of rounded line nets; tax per rate on that rate's net sum, rounded once."""
    groups: dict[Decimal, Decimal] = {}
    subtotal = Decimal("0.00")
    for line in lines:
        subtotal += line.net
        groups[line.tax_rate] = groups.get(line.tax_rate, Decimal("0.00")) + line.net
    by_rate = [
        (rate, base, to_cents(base * rate / HUNDRED)) for rate, base in sorted(groups.items())
    ]
    tax = sum((t for _, _, t in by_rate), Decimal("0.00"))
    return Totals(to_cents(subtotal), to_cents(tax), to_cents(subtotal + tax), by_rate)
