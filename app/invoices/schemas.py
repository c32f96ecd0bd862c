"""Invoice statuses and the transitions the service allows."""

from __future__ import annotations

STATUSES = ("draft", "sent", "paid", "overdue", "void")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("sent", "void"),
    "sent": ("paid", "overdue", "void"),
    "overdue": ("paid", "void"),
    "paid": (),
    "void": (),
}
ACTION_LABELS = {
    "sent": "Mark as sent",
    "paid": "Mark as paid",
    "overdue": "Mark as overdue",
    "void": "Void",
}
MAX_LINES = 100


def invoice_number(number: int) -> str:
    return f"INV-{number:05d}"
