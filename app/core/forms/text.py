"""Text rules every form field shares: what may be stored, how it is trimmed, common formats."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# C0 controls except tab, newline and carriage return, plus DEL and the C1 controls: they are
# invisible, PostgreSQL refuses NUL, and they corrupt logs and CSV exports.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SURROGATE_RE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair: not a character
EMAIL_RE = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{3,40}$")
DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
NUMBER_RE = re.compile(r"^-?\d{1,15}(\.\d+)?$", re.ASCII)
ITEM_SPLIT_RE = re.compile(r"[,;\n]")
REDISPLAY_LIMIT = 20_000  # how much of one refused value the form shows back


class Invalid(Exception):
    """One field's value broke a rule; `message` says what to fix (`fields`: the messages of
    several submitted names at once, for a group of fields such as invoice lines)."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


def capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def storable(value: str, label: str) -> str:
    """`value` with CRLF as LF; Invalid when it holds characters we refuse to store."""
    if SURROGATE_RE.search(value):
        raise Invalid(f"{capitalised(label)} contains a broken character. Type it again.")
    found = CONTROL_RE.search(value)
    if found:
        raise Invalid(
            f"{capitalised(label)} contains an invisible control character"
            f" (U+{ord(found.group()):04X}). Remove it and try again."
        )
    return value.replace("\r\n", "\n").replace("\r", "\n")


def clean_text(value: str, label: str, *, multiline: bool = False) -> str:
    """Storable text, trimmed; on a single line every run of whitespace becomes one space."""
    value = storable(value, label)
    return value.strip() if multiline else " ".join(value.split())


def split_items(values: list[str]) -> list[str]:
    """Items from comma, semicolon or newline separated text (or repeated fields), each
    trimmed, empty ones dropped, duplicates (ignoring case) dropped."""
    seen: dict[str, str] = {}
    for value in values:
        for part in ITEM_SPLIT_RE.split(value):
            item = " ".join(part.split())
            if item and item.lower() not in seen:
                seen[item.lower()] = item
    return list(seen.values())


def parse_decimal(raw: str) -> Decimal | None:
    """A plain decimal from user text ("1234.5", "1 234,50", "1,234.50", "1_000");
    None if it isn't one (NaN, infinity and exponents are never numbers here)."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "").replace("'", "").replace("_", "")
    if "," in text and "." in text:
        text = text.replace(",", "")
    elif text.count(",") == 1 and len(text.split(",")[1]) != 3:
        text = text.replace(",", ".")  # a decimal comma ("12,5"), not thousands ("12,500")
    else:
        text = text.replace(",", "")
    if not NUMBER_RE.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def places(value: Decimal) -> int:
    """How many decimals `value` really has (1.50 has 1)."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def printable(value: str, limit: int = REDISPLAY_LIMIT) -> str:
    """`value` safe to show or log (a refused form's input, an uploaded file's name): refused
    characters replaced by U+FFFD, never more than `limit` characters."""
    shown = SURROGATE_RE.sub("\ufffd", value[:limit])
    return CONTROL_RE.sub("\ufffd", shown)
