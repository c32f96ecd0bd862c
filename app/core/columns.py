"""Piccolo column types the migrations use and Piccolo does not ship."""

from __future__ import annotations

from piccolo.columns import Varchar


class Char(Varchar):
    """`char(n)` (PostgreSQL's bpchar): fixed-length codes such as ISO 4217 currencies."""

    @property
    def column_type(self) -> str:
        return f"CHAR({self.length})" if self.length else "CHAR"
