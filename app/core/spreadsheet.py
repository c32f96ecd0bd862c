"""Cells a spreadsheet won't run: the one home of formula neutralising (OWASP CSV injection).

A text cell starting with = @ tab or CR, or with + or - unless it is a plain number such as a
phone number ("+44 20 7946 0958", "-12.50"), gets a leading ' so that spreadsheets show it as
text. `neutralise_sql` is the same rule in SQL, for files written by COPY; `unquote_cell`
undoes it for a file read back in (an import of an Odex export).
"""

from __future__ import annotations

import re

FORMULA_START = ("=", "@", "\t", "\r")
SIGNS = ("+", "-")
PLAIN_NUMBER = re.compile(r"^[+-][\d\s().,/-]*$")
PLAIN_NUMBER_SQL = r"^[+-][0-9\s().,/-]*$"  # the same pattern, for PostgreSQL's ~


def safe_cell(value: str) -> str:
    """`value` as a cell a spreadsheet won't run as a formula."""
    if value.startswith(FORMULA_START) or (
        value.startswith(SIGNS) and not PLAIN_NUMBER.match(value)
    ):
        return "'" + value
    return value


# A cell an Odex export (or a careful spreadsheet) kept from running as a formula: 'value
QUOTED_START = tuple("'" + start for start in FORMULA_START + SIGNS)


def unquote_cell(value: str) -> str:
    """A cell's value, without the quote an export put in front of a would-be formula."""
    return value[1:] if value.startswith(QUOTED_START) else value


def neutralise_sql(expr: str) -> str:
    """SQL applying `safe_cell` to a value (cast to text)."""
    text = f"({expr})::text"
    return (
        f"case when left({text}, 1) in ('=', '@', chr(9), chr(13)) or (left({text}, 1) in"
        f" ('+', '-') and {text} !~ '{PLAIN_NUMBER_SQL}') then '''' || {text} else {text} end"
    )
