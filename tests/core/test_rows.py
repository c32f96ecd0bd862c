"""core.rows.columns_of: a Piccolo select list read off a Struct's fields."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import msgspec
import pytest
from piccolo.querystring import QueryString, Selectable

from app.accounts.tables import Membership
from app.core.rows import columns_of


class _Seat(msgspec.Struct):
    user_id: UUID
    name: str
    role: str
    verified: bool


def _sql(columns: Sequence[Selectable]) -> list[str]:
    return [str(c.get_select_string("postgres")) for c in columns]


def test_fields_come_from_the_table_or_the_named_columns_in_field_order() -> None:
    m = Membership
    verified = QueryString("{} is not null", m.user_id.email_verified_at)
    sql = _sql(columns_of(_Seat, m, name=m.user_id.name, verified=verified))
    assert sql == [
        '"memberships"."user_id" AS "user_id"',
        '"memberships$user_id"."name" AS "name"',
        '"memberships"."role" AS "role"',
        '"memberships$user_id"."email_verified_at" is not null AS "verified"',
    ]


def test_a_field_the_table_lacks_and_nobody_names_is_an_error() -> None:
    with pytest.raises(ValueError):
        columns_of(_Seat, Membership)
