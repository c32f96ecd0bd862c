"""Bulk actions on the contact and company lists: assign an owner, add or remove a tag
(contacts), delete, on the rows picked or on the whole filtered view; and their undo.

Each record goes through the steps a single edit or delete takes (app/crm/records.py: the
locked row, the versioned save, the timeline entry; the delete with notes and tasks, a
company with invoices kept), all in one tenant transaction. What an edit changed is kept in
`bulk_changes` (each record's previous value and the version the change left it at): the
undo, for UNDO_MINUTES, restores the records still at that version and leaves the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import parse_qsl
from uuid import UUID

import asyncpg
import msgspec

from app.accounts.schemas import Current
from app.core.db import after_commit, tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.forms import Choice, Flag, Form, Ref, Refs, Tags, Text
from app.core.paging import Params
from app.core.rows import insert_new
from app.crm import queries, records
from app.crm.activity import field_diff
from app.crm.common import check_member, readable
from app.crm.contacts import full_name
from app.crm.filters import (
    CompanyView,
    ContactView,
    ListView,
    common_where,
    company_search,
    contact_search,
    contact_where,
    parse_view,
)
from app.crm.secure import lookup_indexes
from app.crm.tables import BulkChange, Company, Contact
from app.realtime.channels import board_channel, publish

MAX_IN_REQUEST = 200  # a selection this large runs in the request, in one transaction
UNDO_MINUTES = 10
KINDS = {"contacts": "contact", "companies": "company"}
ACTIONS = ("owner", "add_tag", "remove_tag", "delete")
TOO_MANY = f"Choose at most {MAX_IN_REQUEST:,} records at a time: narrow the view with its filters."


class BulkForm(Form):
    """A bulk action on a list: the rows picked (ids) or the whole view (its query string)."""

    action: Annotated[str, Choice("the action", ACTIONS, required=True)] = ""
    scope: Annotated[str, Choice("the selection", ("ids", "view"), required=False)] = ""
    ids: Annotated[
        list[UUID], Refs("Choose records from the list.", MAX_IN_REQUEST, too_many=TOO_MANY)
    ] = []
    view_query: Annotated[str, Text("the view", 4000)] = ""
    owner_id: Annotated[UUID | None, Ref("Choose an owner from your workspace.")] = None
    tag: Annotated[list[str], Tags()] = []
    confirmed: Annotated[bool, Flag("the confirmation")] = False

    def problems(self) -> dict[str, str]:
        if self.action in ("add_tag", "remove_tag") and len(self.tag) != 1:
            return {"tag": "Type one tag."}
        if self.scope != "view" and not self.ids:
            return {"form": "Tick the records to change first."}
        return {}


@dataclass(frozen=True)
class Selection:
    """The records a bulk action will change (this workspace's only) and what it will do."""

    kind: str  # contacts | companies
    form: BulkForm
    ids: list[UUID]
    owner_name: str | None = None

    @property
    def count(self) -> int:
        return len(self.ids)

    def noun(self) -> str:
        return KINDS[self.kind] if self.count == 1 else self.kind

    def question(self) -> str:
        """The confirmation's question, naming the count: "Delete 1,234 contacts?"."""
        what = f"{self.count:,} {self.noun()}"
        action = self.form.action
        if action == "delete":
            return f"Delete {what}?"
        if action == "owner":
            return f"Assign {what} to {self.owner_name or 'no owner'}?"
        tag = self.form.tag[0] if self.form.tag else ""
        if action == "add_tag":
            return f"Add the tag “{tag}” to {what}?"
        return f"Remove the tag “{tag}” from {what}?"


class Previous(msgspec.Struct, frozen=True):
    """One changed record in `bulk_changes.previous`: its value before, its version after."""

    id: UUID
    version: int
    value: str | list[str] | None


async def _view_ids(
    conn: asyncpg.Connection, kind: str, view_query: str, tenant_id: UUID
) -> list[UUID]:
    """The ids the list's whole filtered view holds (its search and filters), up to one more
    than MAX_IN_REQUEST (to tell "too many"); inside the caller's tenant transaction."""
    pairs = parse_qsl(view_query[:4000], keep_blank_values=True)
    keep = [(k, v) for k, v in pairs if k not in ("after", "before", "view", "sort", "dir")]
    params = Params()
    view: ListView
    if kind == "contacts":
        view = parse_view(ContactView, keep)
        assert isinstance(view, ContactView)
        where = contact_where(view, params, tenant_id)
        query = view.q.strip()[:200]
        if query:  # the list's own search (app/crm/list_queries.py)
            where.append(contact_search(params, query, lookup_indexes(query), tenant_id))
        table = "contacts"
    else:
        view = parse_view(CompanyView, keep)
        where = common_where(view, params, "c", tenant_id)
        where += company_search(params, view.q.strip()[:200], tenant_id)
        table = "companies"
    limit = params.add(MAX_IN_REQUEST + 1)
    sql = f"select c.id from {table} c where {' and '.join(where)} order by c.id limit {limit}"
    return [r["id"] for r in await conn.fetch(sql, *params.values)]


async def select(current: Current, kind: str, form: BulkForm) -> Selection:
    """The selection `form` names, read in this workspace: another workspace's ids (and ones
    deleted meanwhile) are left out; FormInvalid when it is empty or too large."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        if form.scope == "view":
            ids = await _view_ids(conn, kind, form.view_query, current.tenant_id)
        else:
            table = Contact if kind == "contacts" else Company
            rows = await table.select(table.id).where(table.id.is_in(form.ids)).order_by(table.id)
            ids = [r["id"] for r in rows]
        if len(ids) > MAX_IN_REQUEST:
            raise FormInvalid({"form": TOO_MANY})
        if not ids:
            raise FormInvalid({"form": f"None of the chosen {kind} are there any more."})
        owner_name = None
        if form.action == "owner":
            await check_member(form.owner_id, "owner_id", "an owner")
            named = await readable({"owner_id": form.owner_id})
            owner_name = str((named or {}).get("owner_id") or "") or None
    return Selection(kind, form, ids, owner_name)


def _new_value(
    action: str, before: Mapping[str, object], form: BulkForm
) -> UUID | list[str] | None:
    if action == "owner":
        return form.owner_id
    stored = before["tags"]
    tags = [str(t) for t in stored] if isinstance(stored, list) else []
    tag = form.tag[0]
    if action == "add_tag":
        return tags if tag.lower() in (t.lower() for t in tags) else [*tags, tag]
    return [t for t in tags if t.lower() != tag.lower()]


async def apply(current: Current, selection: Selection) -> tuple[UUID, int, int]:
    """Carry out the confirmed action in one transaction; (bulk change id, changed, skipped).
    A record already as asked is left alone (no version bump, no timeline entry); a company
    with invoices is not deleted (skipped), as on its own delete page."""
    kind, form = selection.kind, selection.form
    singular = KINDS[kind]
    table = Contact if kind == "contacts" else Company
    if form.action in ("add_tag", "remove_tag") and kind != "contacts":
        raise FormInvalid({"action": "Only contacts have tags."})
    change_id = uuid.uuid4()
    previous: list[Previous] = []
    skipped = 0
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        if form.action == "owner":
            await check_member(form.owner_id, "owner_id", "an owner")
        rows = (
            await table.select().where(table.id.is_in(selection.ids)).order_by(table.id).lock_rows()
        )
        for before in rows:
            record_id = before["id"]
            if form.action == "delete":
                if kind == "companies" and await _has_invoices(conn, record_id):
                    skipped += 1
                    continue
                name = full_name(before) if kind == "contacts" else str(before["name"])
                await records.delete_with_notes(current, table, singular, record_id, name)
                previous.append(Previous(record_id, before["version"], None))
                continue
            field = "owner_id" if form.action == "owner" else "tags"
            value = _new_value(form.action, before, form)
            if value == before[field]:
                continue
            await records.save_edit(table, singular, record_id, before["version"], [field], [value])
            changes = field_diff(
                await readable({field: before[field]}), await readable({field: value}), (field,)
            )
            await records.log_changes(current, singular, record_id, changes)
            old = before[field]
            plain = str(old) if isinstance(old, UUID) else old
            previous.append(Previous(record_id, before["version"] + 1, plain))
        changed = len(previous)
        summary = _summary(selection, changed, skipped)
        what = {"kind": kind, "action": form.action, "summary": summary[:500]}
        what["previous"] = msgspec.json.encode(previous).decode()
        who = {"tenant_id": current.tenant_id, "user_id": current.user_id}
        await insert_new(BulkChange, id=change_id, **who, **what)
        push_list(current.tenant_id, kind)
    return change_id, changed, skipped


def push_list(tenant_id: UUID, kind: str) -> None:
    """Once the transaction commits, tell the workspace's open `kind` lists to re-read their
    view (an out-of-band span on the tenant's channel, every page's socket hears it)."""
    html = f'<span id="crm-live-{kind}" hx-swap-oob="true" hidden></span>'

    async def push() -> None:
        await publish(board_channel(tenant_id), html)

    after_commit(push)


async def _has_invoices(conn: asyncpg.Connection, company_id: UUID) -> bool:
    return await queries.company_has_invoices(conn, company_id)


def _summary(selection: Selection, changed: int, skipped: int) -> str:
    noun = KINDS[selection.kind] if changed == 1 else selection.kind
    form = selection.form
    tag = form.tag[0] if form.tag else ""
    what = {
        "owner": f"Assigned {changed:,} {noun} to {selection.owner_name or 'no owner'}",
        "add_tag": f"Tagged {changed:,} {noun} “{tag}”",
        "remove_tag": f"Removed the tag “{tag}” from {changed:,} {noun}",
        "delete": f"Deleted {changed:,} {noun}",
    }[form.action]
    if skipped:
        what += f" ({skipped:,} with invoices kept)"
    return what + "."


@dataclass(frozen=True)
class ChangeView:
    """A bulk change as its page shows it."""

    id: UUID
    kind: str
    action: str
    summary: str
    count: int
    undoable: bool
    undone: bool


def _undoable(row: Mapping[str, object], now: datetime) -> bool:
    made = row["created_at"]
    fresh = isinstance(made, datetime) and made > now - timedelta(minutes=UNDO_MINUTES)
    return row["action"] != "delete" and row["undone_at"] is None and fresh


async def get_change(current: Current, change_id: UUID) -> ChangeView:
    """A bulk change of this workspace (RecordNotFound: not there, or another's)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        row = await BulkChange.select().where(BulkChange.id == change_id).first()
    if row is None:
        raise RecordNotFound("bulk change")
    previous = msgspec.json.decode(_text(row["previous"]), type=list[Previous])
    allowed = row["user_id"] == current.user_id or current.is_admin
    return ChangeView(
        row["id"],
        row["kind"],
        row["action"],
        row["summary"],
        len(previous),
        _undoable(row, datetime.now(UTC)) and allowed,
        row["undone_at"] is not None,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


async def undo(current: Current, change_id: UUID) -> tuple[int, int]:
    """Restore what the bulk change changed, on the records still at the version it left
    them at; (restored, left: edited or deleted since). FormInvalid when it can no longer
    be undone (undone already, too old, a delete, or someone else's for a member)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        row = await BulkChange.select().where(BulkChange.id == change_id).lock_rows().first()
        if row is None:
            raise RecordNotFound("bulk change")
        if row["user_id"] != current.user_id and not current.is_admin:
            raise FormInvalid(
                {"form": "Only the member who made this change, or an admin, can undo it."}
            )
        if not _undoable(row, datetime.now(UTC)):
            raise FormInvalid({"form": "This change can no longer be undone."})
        kind = row["kind"]
        singular = KINDS[kind]
        table = Contact if kind == "contacts" else Company
        field = "owner_id" if row["action"] == "owner" else "tags"
        previous = msgspec.json.decode(_text(row["previous"]), type=list[Previous])
        wanted = {p.id: p for p in previous}
        rows = (
            await table.select()
            .where(table.id.is_in(list(wanted) or [uuid.uuid4()]))
            .order_by(table.id)
            .lock_rows()
        )
        restored = 0
        for now in rows:
            prev = wanted[now["id"]]
            if now["version"] != prev.version:
                continue  # edited since: theirs stands
            value: object = (
                UUID(prev.value)
                if field == "owner_id" and isinstance(prev.value, str)
                else prev.value
            )
            if field == "owner_id" and isinstance(value, UUID):
                try:
                    await check_member(value, "owner_id", "an owner")
                except FormInvalid:
                    continue  # the previous owner left the workspace
            if field == "tags" and value is None:
                value = []
            await records.save_edit(table, singular, now["id"], prev.version, [field], [value])
            changes = field_diff(
                await readable({field: now[field]}), await readable({field: value}), (field,)
            )
            await records.log_changes(current, singular, now["id"], changes)
            restored += 1
        push_list(current.tenant_id, kind)
        await BulkChange.update({BulkChange.undone_at: datetime.now(UTC)}).where(
            BulkChange.id == change_id
        )
    return restored, len(previous) - restored
