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
from typing import NamedTuple
from uuid import UUID

from app.accounts.schemas import Current
from app.core import formats
from app.core.clock import user_zone
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.core.kept import KeptMarkup, with_csrf

# No row: another workspace's (RLS) or a deleted deal. $1 the deal, $2 the tenant.
FORM_STATE = """
select d.xmin::text as deal,
       (select c.xmin::text from companies c where c.id = d.company_id) as company,
       (select md5(coalesce(string_agg(dc.contact_id::text || '.' || c.xmin::text, ','
                                       order by dc.contact_id), ''))
          from deal_contacts dc join contacts c on c.id = dc.contact_id
         where dc.deal_id = d.id) as contacts,
       (select md5(coalesce(string_agg(f.id::text || '.' || f.xmin::text, ',' order by f.id), ''))
          from custom_fields f where f.tenant_id = $2 and f.object_kind = 'deal') as fields,
       (select md5(coalesce(string_agg(m.user_id::text || '.' || m.xmin::text || '.'
                                       || coalesce(u.xmin::text, ''), ',' order by m.user_id), ''))
          from memberships m left join users u on u.id = m.user_id
         where m.tenant_id = $2) as members,
       (select md5(coalesce(string_agg(s.id::text || '.' || s.xmin::text, ',' order by s.id), ''))
          from stages s where s.tenant_id = $2) as stages,
       (select md5(coalesce(string_agg(p.id::text || '.' || p.xmin::text, ',' order by p.id), ''))
          from pipelines p where p.tenant_id = $2) as pipelines
  from deals d where d.id = $1
"""

KEPT_FORMS = 512  # forms kept per process (oldest used dropped first) ...
KEPT_SIZE = 8_000_000  # ... and their markup's size in all (UTF-8 bytes, about)


class FormKey(NamedTuple):
    """Everything a kept form depends on."""

    tenant_id: UUID
    deal_id: UUID
    rows: tuple[str | None, ...]  # FORM_STATE's versions and digests
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


async def edit_form(
    current: Current, deal_id: UUID, csrf: str, render: Callable[[], Awaitable[str]]
) -> bytes:
    """The deal's edit form (UTF-8) for `current` with the CSRF token `csrf`: kept, or
    `render`ed now (it reads the parts in this transaction; its markup holds CSRF_MARK for
    the token) and kept. Another workspace's or a deleted deal: RecordNotFound."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        state = await conn.fetchrow(FORM_STATE, deal_id, current.tenant_id)
        if state is None:
            raise RecordNotFound("deal")
        key = FormKey(
            current.tenant_id,
            deal_id,
            tuple(state.values()),
            current.is_admin,
            formats.current(),
            user_zone(current),
        )
        content = _kept.get(key)
        if content is None:
            content = (await render()).encode()
            _kept.keep(key, content)
    return with_csrf(content, csrf)
