"""Field rules for CRM forms and CSV rows: one place for what a valid name, email or phone is."""

from __future__ import annotations

import re
from datetime import date
from uuid import UUID

from app.accounts.validation import EMAIL_RE

PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{3,40}$")
DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_ITEMS = 10


def text(
    value: str | None,
    errors: dict[str, str],
    field: str,
    label: str,
    limit: int,
    *,
    required: bool = False,
    multiline: bool = False,
) -> str | None:
    """Trimmed text (whitespace collapsed unless multiline), None when empty and optional."""
    raw = value or ""
    cleaned = raw.strip() if multiline else " ".join(raw.split())
    if not cleaned:
        if required:
            errors[field] = f"Enter {label}."
        return None
    if len(cleaned) > limit:
        errors[field] = f"{label[0].upper() + label[1:]} can be at most {limit} characters."
    if "\x00" in cleaned:
        errors[field] = f"{label[0].upper() + label[1:]} contains characters we can't store."
    return cleaned


def split_list(value: str | list[str] | None) -> list[str]:
    """Items from a comma, semicolon or newline separated field (or an already split list)."""
    if value is None:
        return []
    parts = value if isinstance(value, list) else re.split(r"[,;\n]", value)
    seen: list[str] = []
    for part in parts:
        item = " ".join(part.split())
        if item and item.lower() not in (s.lower() for s in seen):
            seen.append(item)
    return seen


def emails(
    value: str | list[str] | None, errors: dict[str, str], field: str = "emails"
) -> list[str]:
    items = split_list(value)
    if len(items) > MAX_ITEMS:
        errors[field] = f"Enter at most {MAX_ITEMS} email addresses."
    bad = [e for e in items if len(e) > 254 or not EMAIL_RE.match(e)]
    if bad:
        errors[field] = f"“{bad[0][:60]}” is not a valid email address (like name@company.com)."
    return items


def phones(
    value: str | list[str] | None, errors: dict[str, str], field: str = "phones"
) -> list[str]:
    items = split_list(value)
    if len(items) > MAX_ITEMS:
        errors[field] = f"Enter at most {MAX_ITEMS} phone numbers."
    bad = [p for p in items if not PHONE_RE.match(p) or sum(c.isdigit() for c in p) < 3]
    if bad:
        errors[field] = f"“{bad[0][:40]}” is not a phone number: use digits, spaces, + ( ) - ."
    return items


def tags(value: str | list[str] | None, errors: dict[str, str], field: str = "tags") -> list[str]:
    items = split_list(value)
    if len(items) > 20:
        errors[field] = "Use at most 20 tags."
    if any(len(t) > 50 for t in items):
        errors[field] = "A tag can be at most 50 characters."
    return items


def domain(value: str | None, errors: dict[str, str], field: str = "domain") -> str | None:
    raw = (value or "").strip().lower()
    raw = re.sub(r"^https?://", "", raw).split("/")[0].removeprefix("www.")
    if not raw:
        return None
    if len(raw) > 253 or not DOMAIN_RE.match(raw):
        errors[field] = "Enter a domain like example.com."
    return raw


def optional_uuid(
    value: str | None, errors: dict[str, str], field: str, message: str
) -> UUID | None:
    raw = (value or "").strip()
    if not raw:
        return None
    try:
        return UUID(raw)
    except ValueError:
        errors[field] = message
        return None


def optional_date(value: str | None, errors: dict[str, str], field: str, label: str) -> date | None:
    raw = (value or "").strip()
    if not raw:
        return None
    try:
        parsed = date.fromisoformat(raw)
    except ValueError:
        errors[field] = f"Enter {label} as a date (YYYY-MM-DD)."
        return None
    if not 1900 <= parsed.year <= 2200:
        errors[field] = f"Enter {label} between the years 1900 and 2200."
        return None
    return parsed
