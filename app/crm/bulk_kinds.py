"""What a bulk action does to each record, per kind of list: the contact and company lists'
steps live here, and the deals list registers its own (app/deals/bulk.py, through the deals
domain's wiring), so the in-request path and the background job (app/crm/bulk_jobs.py) run
the same per-record steps for every kind.

A kind's `apply` takes a batch of ids inside the caller's tenant transaction, locks the rows
and changes each one as its single edit or delete does (row lock, versioned save, timeline
entry, delete rules); it returns each changed record's previous value and the version it left.
`restore` puts previous values back on the records still at that version (the undo) and
returns the ids it restored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl
from uuid import UUID, uuid4

import asyncpg
import msgspec
from piccolo.table import Table

from app.accounts.schemas import Current
from app.core.db import after_commit
from app.core.errors import FormInvalid
from app.core.paging import Params
from app.crm import queries, records
from app.crm.activity import field_diff
from app.crm.bulk_custom import apply_custom, restore_custom
from app.crm.bulk_types import BulkParams as BulkParams
from app.crm.bulk_types import Outcome as Outcome
from app.crm.bulk_types import Previous as Previous
from app.crm.common import check_member, readable
from app.crm.contacts import full_name
from app.crm.filters import CompanyView, ContactView, parse_view
from app.crm.list_queries import company_conditions, contact_conditions
from app.crm.secure import lookup_indexes
from app.crm.tables import Company, Contact
from app.realtime.channels import board_channel, publish

VIEW_KEYS_IGNORED = ("after", "before", "view", "sort", "dir")


# the view's rows: (FROM clause, the id column, WHERE conditions), parameters added to Params
ViewSql = tuple[str, str, list[str]]
Apply = Callable[[Current, asyncpg.Connection, BulkParams, list[UUID]], Awaitable[Outcome]]
Restore = Callable[[Current, asyncpg.Connection, str, list[Previous]], Awaitable[list[UUID]]]
ViewOf = Callable[[asyncpg.Connection, list[tuple[str, str]], UUID, Params], Awaitable[ViewSql]]
Describe = Callable[[asyncpg.Connection, "BulkParams"], Awaitable["BulkParams"]]


@dataclass(frozen=True)
class KindSteps:
    """A list that has bulk actions: its names, actions and per-record steps."""

    plural: str
    singular: str
    list_url: str
    actions: tuple[str, ...]
    apply: Apply
    restore: Restore
    view_sql: ViewOf
    describe: Describe
    table: type[Table]  # the records' own table
    kept_note: str = ""  # the summary's note on kept records: "with invoices kept"

    async def record_ids(self, conn: asyncpg.Connection, ids: list[UUID]) -> list[UUID]:
        """Those of `ids` that are records of this kind in the workspace (RLS), in id order."""
        key = self.table._meta.primary_key
        rows = await self.table.select(key).where(key.is_in(ids or [uuid4()])).order_by(key)
        return [r[key._meta.name] for r in rows]

    def push(self, tenant_id: UUID) -> None:
        """Tell the workspace's open lists of this kind to re-read their view (push_list)."""
        push_list(tenant_id, self.plural)


STEPS: dict[str, KindSteps] = {}


def register(steps: KindSteps) -> None:
    """Make bulk actions available on a list (the deals domain registers its own)."""
    STEPS[steps.plural] = steps


def steps_of(kind: str) -> KindSteps:
    return STEPS[kind]


def json_text(value: object) -> str:
    """A JSONB column's value as JSON text (asyncpg hands it back as text, Piccolo may decode
    it); an empty object (the default of changes made before jobs) reads as null."""
    if value is None or value == {} or value == "{}":
        return "null"
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def stored_params(row: Mapping[str, object]) -> BulkParams:
    """The parameters a job's bulk change row keeps."""
    return msgspec.json.decode(json_text(row["params"]), type=BulkParams)


def view_filters(view_query: str) -> list[tuple[str, str]]:
    """The list view's filters and search from its query string (not its page or order)."""
    pairs = parse_qsl(view_query[:4000], keep_blank_values=True)
    return [(k, v) for k, v in pairs if k not in VIEW_KEYS_IGNORED]


async def view_selection(
    conn: asyncpg.Connection, steps: KindSteps, tenant_id: UUID, view_query: str
) -> tuple[str, str, list[str], Params]:
    """The records of a list view (its query string): (from, id column, conditions, their
    parameters) to count, read or freeze them."""
    params = Params()
    from_sql, id_col, where = await steps.view_sql(
        conn, view_filters(view_query), tenant_id, params
    )
    return from_sql, id_col, where, params


async def describe_owner(conn: asyncpg.Connection, params: BulkParams) -> BulkParams:
    """Check the action's owner (a member of this workspace) and name it for the question."""
    if params.action != "owner":
        return params
    await check_member(params.owner_id, "owner_id", "an owner")
    named = await readable({"owner_id": params.owner_id})
    owner_name = str((named or {}).get("owner_id") or "") or None
    return msgspec.structs.replace(params, owner_name=owner_name)


def push_list(tenant_id: UUID, kind: str) -> None:
    """Once the transaction commits, tell the workspace's open `kind` lists to re-read their
    view (an out-of-band span on the tenant's channel, every page's socket hears it)."""
    html = f'<span id="crm-live-{kind}" hx-swap-oob="true" hidden></span>'

    async def push() -> None:
        await publish(board_channel(tenant_id), html)

    after_commit(push)


def _new_value(before: Mapping[str, object], params: BulkParams) -> UUID | list[str] | None:
    if params.action == "owner":
        return params.owner_id
    stored = before["tags"]
    tags = [str(t) for t in stored] if isinstance(stored, list) else []
    tag = params.tag
    if params.action == "add_tag":
        return tags if tag.lower() in (t.lower() for t in tags) else [*tags, tag]
    return [t for t in tags if t.lower() != tag.lower()]


def _plain(value: object) -> str | list[str] | None:
    if isinstance(value, list):
        return [str(v) for v in value]
    return None if value is None else str(value)


async def _apply_records(
    current: Current, conn: asyncpg.Connection, kind: str, params: BulkParams, ids: list[UUID]
) -> Outcome:
    singular = "contact" if kind == "contacts" else "company"
    table = Contact if kind == "contacts" else Company
    if params.action == "custom":
        return await apply_custom(current, conn, singular, params, ids)
    if params.action == "owner":
        await check_member(params.owner_id, "owner_id", "an owner")
    outcome = Outcome()
    rows = (
        await table.select().where(table.id.is_in(ids or [uuid4()])).order_by(table.id).lock_rows()
    )
    for before in rows:
        record_id = before["id"]
        if params.action == "delete":
            if kind == "companies" and await queries.company_has_invoices(conn, record_id):
                outcome.kept += 1
                continue
            name = full_name(before) if kind == "contacts" else str(before["name"])
            await records.delete_with_notes(current, table, singular, record_id, name)
            outcome.changed.append(Previous(record_id, before["version"], None))
            continue
        column = "owner_id" if params.action == "owner" else "tags"
        value = _new_value(before, params)
        if value == before[column]:
            continue  # already as asked: no version bump, no timeline entry
        await records.save_edit(table, singular, record_id, before["version"], [column], [value])
        changes = field_diff(
            await readable({column: before[column]}), await readable({column: value}), (column,)
        )
        await records.log_changes(current, singular, record_id, changes)
        outcome.changed.append(Previous(record_id, before["version"] + 1, _plain(before[column])))
    return outcome


async def _restore_records(
    current: Current, conn: asyncpg.Connection, kind: str, action: str, previous: list[Previous]
) -> list[UUID]:
    singular = "contact" if kind == "contacts" else "company"
    if action == "custom":
        return await restore_custom(current, conn, singular, previous)
    table = Contact if kind == "contacts" else Company
    column = "owner_id" if action == "owner" else "tags"
    wanted = {p.id: p for p in previous}
    rows = await table.select().where(table.id.is_in(list(wanted) or [uuid4()])).lock_rows()
    restored: list[UUID] = []
    for now in rows:
        prev = wanted[now["id"]]
        if now["version"] != prev.version:
            continue  # edited since: theirs stands
        value: object = prev.value
        if column == "owner_id" and isinstance(prev.value, str):
            value = UUID(prev.value)
            try:
                await check_member(value, "owner_id", "an owner")
            except FormInvalid:
                continue  # the previous owner left the workspace
        if column == "tags" and value is None:
            value = []
        await records.save_edit(table, singular, now["id"], prev.version, [column], [value])
        changes = field_diff(
            await readable({column: now[column]}), await readable({column: value}), (column,)
        )
        await records.log_changes(current, singular, now["id"], changes)
        restored.append(now["id"])
    return restored


async def _contact_view(
    conn: asyncpg.Connection, pairs: list[tuple[str, str]], tenant_id: UUID, params: Params
) -> ViewSql:
    view = parse_view(ContactView, pairs)
    assert isinstance(view, ContactView)
    query = view.q.strip()[:200]  # the list's own search
    indexes = lookup_indexes(query)
    return "contacts c", "c.id", contact_conditions(params, tenant_id, query, indexes, view)


async def _company_view(
    conn: asyncpg.Connection, pairs: list[tuple[str, str]], tenant_id: UUID, params: Params
) -> ViewSql:
    view = parse_view(CompanyView, pairs)
    assert isinstance(view, CompanyView)
    query = view.q.strip()[:200]
    return "companies c", "c.id", company_conditions(params, tenant_id, query, view)


def _steps(kind: str, actions: tuple[str, ...], kept_note: str) -> KindSteps:
    table = Contact if kind == "contacts" else Company

    async def apply(
        current: Current, conn: asyncpg.Connection, params: BulkParams, ids: list[UUID]
    ) -> Outcome:
        return await _apply_records(current, conn, kind, params, ids)

    async def restore(
        current: Current, conn: asyncpg.Connection, action: str, previous: list[Previous]
    ) -> list[UUID]:
        return await _restore_records(current, conn, kind, action, previous)

    return KindSteps(
        plural=kind,
        singular="contact" if kind == "contacts" else "company",
        list_url=f"/{kind}",
        actions=actions,
        apply=apply,
        restore=restore,
        view_sql=_contact_view if kind == "contacts" else _company_view,
        describe=describe_owner,
        table=table,
        kept_note=kept_note,
    )


register(_steps("contacts", ("owner", "add_tag", "remove_tag", "custom", "delete"), ""))
register(_steps("companies", ("owner", "custom", "delete"), "with invoices kept"))
