"""What a list page (contacts, companies, deals) shows around its rows, read in ONE statement:
the workspace's people (the owner filter's and bulk bar's choices), the member's own and the
shared saved views of the list, and the active custom fields of its kind (filters, column
chooser), and the versions a kept list page's result is kept under (app/crm/kept_lists.py:
the workspace's list version and the people epoch; read before the page's rows, in the
page's transaction). Each part was a statement of its own (three round trips a page view,
about a tenth of the contact list's web CPU); the parts come back as JSON (the SQL function
`odex_list_frame`, migrations/invoices 1.48.0, which sets its own RLS scope) and are decoded
into the same structs as before, in the same orders."""

from __future__ import annotations

from typing import NamedTuple

import asyncpg
import msgspec

from app.accounts.queries import Person
from app.accounts.schemas import Current
from app.core.db import connection
from app.crm.custom_fields import FieldDef
from app.crm.saved_views import Saved, SavedRow, saved_views


class ListFrame(msgspec.Struct, frozen=True):
    """The parts of a list page around its rows."""

    people: list[Person]
    views: list[Saved]
    fields: list[FieldDef]
    lists: int | None = None  # dashboard_versions.lists (None: no row, nothing is kept)
    epoch: int = 0  # record_epoch.version (people's names: the owner column)

    @property
    def member_options(self) -> list[tuple[str, str]]:
        """(user id, name) pairs for an owner select (`crm.common.member_options`)."""
        return [(str(p.user_id), p.name) for p in self.people]


class ListState(NamedTuple):
    """What a list's frame is, in versions (migrations/invoices 1.48.0, `odex_list_state`): the
    list version (which custom field definitions bump too; None: no row, nothing is kept),
    `record_epoch` (people's names and addresses), digests of the workspace's memberships and
    of the saved views the member sees. The same state, the same frame."""

    lists: int | None
    epoch: int
    members: str
    views: str


async def list_state(conn: asyncpg.Connection, current: Current, plural: str) -> ListState:
    """The state of the list `plural` for `current`, in one self-scoped statement (on `conn`:
    outside a transaction, `db.self_scoped`, or inside one of `current`'s own scope)."""
    row = await conn.fetchrow(_STATE, current.tenant_id, current.user_id, plural)
    return ListState(row["lists"], int(row["epoch"]), row["members"], row["views"])


class _Parts(msgspec.Struct, frozen=True):
    people: list[Person]
    views: list[SavedRow]
    fields: list[FieldDef]
    lists: int | None
    epoch: int


# one statement that sets its RLS scope itself (migrations/invoices 1.48.0): run by
# `db.self_scoped` (one round trip) or in the open transaction of the same tenant and user
_FRAME = "select odex_list_frame($1, $2, $3, $4)"
_STATE = "select * from odex_list_state($1, $2, $3)"
_DECODER = msgspec.json.Decoder(_Parts)


async def frame_text(conn: asyncpg.Connection, current: Current, plural: str, kind: str) -> str:
    """The frame of the list `plural` ("contacts") of records of `kind` ("contact") as read on
    `conn`: its JSON text, which holds everything the frame is (a kept list page is keyed by
    it). Outside a transaction (`db.self_scoped`) or inside one of `current`'s own scope."""
    raw = await conn.fetchval(_FRAME, current.tenant_id, current.user_id, plural, kind)
    return str(raw)


def decoded_frame(current: Current, plural: str, raw: str) -> ListFrame:
    """The frame of the list `plural` from its JSON text (`frame_text`)."""
    parts = _DECODER.decode(raw)
    views = saved_views(current, plural, parts.views)
    return ListFrame(parts.people, views, parts.fields, parts.lists, parts.epoch)


async def list_frame(current: Current, plural: str, kind: str) -> ListFrame:
    """The frame of the list `plural` ("contacts") of records of `kind` ("contact")."""
    return decoded_frame(current, plural, await frame_text(connection(), current, plural, kind))
