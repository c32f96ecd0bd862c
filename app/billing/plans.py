"""The plan catalogue: Free, Pro and Business with their Stripe prices, limits and features."""

from __future__ import annotations

import msgspec

from app.settings import Settings, get_settings

MB = 1024**2
GB = 1024**3
TEST_PRICE_PRO = "price_test_pro"
TEST_PRICE_BUSINESS = "price_test_business"


def _size(n: int) -> str:
    return f"{n // GB} GB" if n >= GB else f"{n // MB} MB"


class Plan(msgspec.Struct, frozen=True):
    """One plan; `price_id` is the Stripe price (empty for Free); `extras` what it offers
    besides its limits."""

    key: str
    price_id: str
    monthly_usd: int
    seat_limit: int
    record_limit: int
    attachment_max_bytes: int  # one attached file
    storage_limit_bytes: int  # every attached file of the workspace together
    extras: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.key.capitalize()

    @property
    def is_paid(self) -> bool:
        return bool(self.price_id)

    @property
    def features(self) -> tuple[str, ...]:
        """What the plan page lists: its limits, then its extras."""
        return (
            f"Up to {self.seat_limit} team members",
            f"{self.record_limit:,} contacts and companies",
            f"Files up to {_size(self.attachment_max_bytes)},"
            f" {_size(self.storage_limit_bytes)} in all",
            *self.extras,
        )


def plans(settings: Settings | None = None) -> dict[str, Plan]:
    """The plans in display order; price ids come from settings (test ids in test mode)."""
    settings = settings or get_settings()
    pro_price = settings.stripe_price_pro or TEST_PRICE_PRO
    business_price = settings.stripe_price_business or TEST_PRICE_BUSINESS
    catalogue = (
        # key, Stripe price, $ a month, seats, contacts and companies, largest file, all files,
        # what else it offers
        Plan("free", "", 0, 3, 500, 5 * MB, 100 * MB, ("Deals board",)),
        Plan(
            "pro",
            pro_price,
            29,
            10,
            10_000,
            25 * MB,
            10 * GB,
            ("CSV import and export", "Email support"),
        ),
        Plan(
            "business",
            business_price,
            99,
            50,
            100_000,
            100 * MB,
            100 * GB,
            ("Security alerts and audit log", "Priority support"),
        ),
    )
    return {plan.key: plan for plan in catalogue}


def plan_for_price(price_id: str | None) -> Plan | None:
    """The paid plan a Stripe price id belongs to (None when it is not one of ours)."""
    for plan in plans().values():
        if plan.is_paid and plan.price_id == price_id:
            return plan
    return None
