"""A deal's edit form, kept rendered per web process while nothing it shows changed: the form
then costs one small read (the versions below) and the kept markup, instead of four
statements and the form's rendering.

What the form shows is decided by rows only, each named in FORM_STATE by its `xmin` (the
transaction that wrote the row's current version: any update gives a new one): the deal (its
fields, `version` included, and its custom values), its company (the picker's name), its
contacts (which, and their names), the deal custom fields' definitions, the workspace's
members (the owner and user pickers: memberships and the users' names), its stages and
pipelines (the stage picker). They are read in the page's own transaction before the parts
would be, so kept markup is at least as new as the versions it is kept under, and a change
committed anywhere is seen by the next form in every process. The reader: their role, locale
and zone are part of the key (the form shows nothing by them today: kept apart anyway); their
CSRF token is put in at each request (the kept markup holds a placeholder)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import NamedTuple
from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.core import formats
from app.core.clock import user_zone
from app.core.db import self_scoped, tenant_transaction
from app.core.errors import RecordNotFound
from app.core.folded import StateRead, path_uuid, state_values
from app.core.kept import KeptMarkup, with_csrf

# The row versions and digests of what the form shows: one statement that sets its RLS scope
# itself (migrations/deals 1.48.0), so a kept form costs one round trip, run by
# `db.self_scoped` (or in the open transaction of the same scope). No row: another
# workspace's (RLS) or a deleted deal. $1 tenant, $2 user, $3 the deal.
FORM_STATE = "select * from odex_deal_form_state($1, $2, $3)"
# the same read folded into the form page's signed-in check (app/core/folded.py)
FORM_READ = StateRead("deal_form", "odex_deal_form_state($1, $2, $3)", path_uuid("deal_id"))

KEPT_FORMS = 512  # forms kept per process (oldest used dropped first) ...
KEPT_SIZE = 8_000_000  # ... and their markup's size in all (UTF-8 bytes, about)


class FormKey(NamedTuple):
    """Everything a kept form depends on."""

    tenant_id: UUID
    deal_id: UUID
    rows: tuple[object, ...]  # FORM_STATE's versions and digests (text or NULL)
    is_admin: bool
    prefs: formats.Prefs  # the reader's locale and time zone
    zone: str


_kept: KeptMarkup[FormKey] = KeptMarkup(KEPT_FORMS, KEPT_SIZE)


def kept_forms() -> int:
    """How many forms this process keeps (tests)."""
    return len(_kept)


def forget_all() -> None:
    """Drop every kept form (tests)."""
    _kept.clear()


async def _state(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, deal_id: UUID
) -> asyncpg.Record | None:
    state: asyncpg.Record | None = await conn.fetchrow(FORM_STATE, tenant_id, user_id, deal_id)
    return state


def _key(current: Current, deal_id: UUID, state: asyncpg.Record | None) -> FormKey:
    """The key the form is kept under (no state: RecordNotFound)."""
    if state is None:
        raise RecordNotFound("deal")
    return FormKey(
        current.tenant_id,
        deal_id,
        state_values(state),
        current.is_admin,
        formats.current(),
        user_zone(current),
    )


async def edit_form(
    current: Current,
    deal_id: UUID,
    csrf: str,
    render: Callable[[], Awaitable[str]],
    folded: list[asyncpg.Record] | None = None,
) -> bytes:
    """The deal's edit form (UTF-8) for `current` with the CSRF token `csrf`: kept, or
    `render`ed now (it reads the parts in this transaction; its markup holds CSRF_MARK for
    the token) and kept. Another workspace's or a deleted deal: RecordNotFound.

    First the one self-scoped read of the versions: when the form kept under them is there,
    that is the whole page's database work (one round trip, no transaction). Otherwise they
    are read again in the transaction that reads the parts, before them (a kept form is at
    least as new as the versions it is kept under)."""
    tenant_id, user_id = current.tenant_id, current.user_id
    state = folded[0] if folded else None  # read with the signed-in check (FORM_READ)
    if state is None:
        state = await self_scoped(
            tenant_id,
            user_id,
            partial(_state, tenant_id=tenant_id, user_id=user_id, deal_id=deal_id),
        )
    content = _kept.get(_key(current, deal_id, state))
    if content is None:
        async with tenant_transaction(tenant_id, user_id) as conn:
            key = _key(current, deal_id, await _state(conn, tenant_id, user_id, deal_id))
            content = _kept.get(key)
            if content is None:
                content = (await render()).encode()
                _kept.keep(key, content)
    return with_csrf(content, csrf)
