"""The plan catalogue: Free, Pro and Business with their Stripe prices, limits and features."""

from __future__ import annotations

import msgspec

from app.settings import Settings, get_settings

MB = 1024**2
GB = 1024**3
TEST_PRICE_PRO = "price_test_pro"
TEST_PRICE_BUSINESS = "price_test_business"


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """One plan; `price_id` is the Stripe price (empty for Free)."""

    key: str
    name: str
    price_id: str
    monthly_usd: int
    seat_limit: int
    record_limit: int
    attachment_max_bytes: int  # one attached file
    storage_limit_bytes: int  # every attached file of the workspace together
    features: tuple[str, ...]

    @property
    def is_paid(self) -> bool:
        return bool(self.price_id)


def plans(settings: Settings | None = None) -> dict[str, Plan]:
    """The plans in display order; price ids come from settings (test ids in test mode)."""
    settings = settings or get_settings()
    return {
        "free": Plan(
            key="free",
            name="Free",
            price_id="",
            monthly_usd=0,
            seat_limit=3,
            record_limit=500,
            attachment_max_bytes=5 * MB,
            storage_limit_bytes=100 * MB,
            features=(
                "Up to 3 team members",
                "500 contacts and companies",
                "Deals board",
                "Files up to 5 MB, 100 MB in all",
            ),
        ),
        "pro": Plan(
            key="pro",
            name="Pro",
            price_id=settings.stripe_price_pro or TEST_PRICE_PRO,
            monthly_usd=29,
            seat_limit=10,
            record_limit=10_000,
            attachment_max_bytes=25 * MB,
            storage_limit_bytes=10 * GB,
            features=(
                "Up to 10 team members",
                "10,000 contacts and companies",
                "CSV import and export",
                "Files up to 25 MB, 10 GB in all",
                "Email support",
            ),
        ),
        "business": Plan(
            key="business",
            name="Business",
            price_id=settings.stripe_price_business or TEST_PRICE_BUSINESS,
            monthly_usd=99,
            seat_limit=50,
            record_limit=100_000,
            attachment_max_bytes=100 * MB,
            storage_limit_bytes=100 * GB,
            features=(
                "Up to 50 team members",
                "100,000 contacts and companies",
                "Security alerts and audit log",
                "Files up to 100 MB, 100 GB in all",
                "Priority support",
            ),
        ),
    }


def plan_for_price(price_id: str | None) -> Plan | None:
    """The paid plan a Stripe price id belongs to (None when it is not one of ours)."""
    for plan in plans().values():
        if plan.is_paid and plan.price_id == price_id:
            return plan
    return None
