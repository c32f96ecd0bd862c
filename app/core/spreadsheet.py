"""Cells a spreadsheet won't run: the one home of formula neutralising (OWASP CSV injection).

A text cell starting with = @ tab or CR, or with + or - unless it is a plain number such as a
phone number ("+44 20 7946 0958", "-12.50"), gets a leading ' so that spreadsheets show it as
text. `neutralise_sql` is the same rule in SQL, for files written by COPY.
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


def neutralise_sql(expr: str) -> str:
    """SQL applying `safe_cell` to a value (cast to text)."""
    text = f"({expr})::text"
    return (
        f"case when left({text}, 1) in ('=', '@', chr(9), chr(13)) or (left({text}, 1) in"
        f" ('+', '-') and {text} !~ '{PLAIN_NUMBER_SQL}') then '''' || {text} else {text} end"
    )
