"""What a list page (contacts, companies, deals) shows around its rows, read in ONE statement:
the workspace's people (the owner filter's and bulk bar's choices), the member's own and the
shared saved views of the list, and the active custom fields of its kind (filters, column
chooser), and the versions a kept list page's result is kept under (app/crm/kept_lists.py:
the workspace's list version and the people epoch; read before the page's rows). Each part
was a statement of its own (three round trips a page view, about a tenth of the contact
list's web CPU); the parts come back as JSON and are decoded into the same structs as before,
in the same orders. Call inside the page's tenant transaction (RLS). And the list's state
(`list_state`): what a kept list content is kept under, one self-scoped statement."""

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


# the orders are those of the separate statements they replace (accounts' workspace_people,
# the saved views by name, custom_fields.kind_fields), given inside each aggregate;
# memberships named by tenant as well (their second policy shows a user their own
# memberships elsewhere)
_FRAME = """
select json_build_object(
  'people', (select coalesce(json_agg(json_build_object(
                 'user_id', m.user_id, 'name', u.name, 'email', u.email)
               order by lower(u.name), u.email), '[]')
             from memberships m left join users u on u.id = m.user_id
            where m.tenant_id = $1),
  'views', (select coalesce(json_agg(json_build_object(
                'id', v.id, 'name', v.name, 'query', v.query, 'shared', v.shared,
                'user_id', v.user_id) order by v.name), '[]')
            from saved_views v
           where v.tenant_id = $1 and v.kind = $2 and (v.user_id = $3 or v.shared)),
  'fields', (select coalesce(json_agg(json_build_object(
                 'id', f.id, 'object_kind', f.object_kind, 'key', f.key, 'label', f.label,
                 'field_type', f.field_type, 'required', f.required, 'personal', f.personal,
                 'position', f.position, 'archived_at', f.archived_at, 'version', f.version,
                 'options', array(select jsonb_array_elements_text(coalesce(f.options, '[]'))))
               order by f.position, f.label), '[]')
             from custom_fields f
            where f.object_kind = $4 and f.archived_at is null),
  'lists', (select d.lists from dashboard_versions d where d.tenant_id = $1),
  'epoch', (select e.version from record_epoch e where e.id = 1)
)::text
"""
# one statement that sets its RLS scope itself (migrations/invoices 1.48.0): run by
# `db.self_scoped` (one round trip) or in the open transaction of the same tenant and user
_STATE = "select * from odex_list_state($1, $2, $3)"
_DECODER = msgspec.json.Decoder(_Parts)


async def list_frame(current: Current, plural: str, kind: str) -> ListFrame:
    """The frame of the list `plural` ("contacts") of records of `kind` ("contact")."""
    raw = await connection().fetchval(_FRAME, current.tenant_id, plural, current.user_id, kind)
    parts = _DECODER.decode(raw)
    views = saved_views(current, plural, parts.views)
    return ListFrame(parts.people, views, parts.fields, parts.lists, parts.epoch)
