"""Bulk actions on the contact, company and deal lists: assign an owner, add or remove a tag
(contacts), move to a stage (deals), delete, on the rows picked or on the whole filtered view;
and their undo.

Each record goes through the steps its single edit or delete takes (app/crm/bulk_kinds.py and,
for deals, app/deals/bulk.py). Up to MAX_IN_REQUEST records change in the request, in one
tenant transaction, their previous values kept in `bulk_changes.previous`; a larger selection
runs as a background job in batches (app/crm/bulk_jobs.py), its records in `bulk_items`. The
undo, for UNDO_MINUTES, restores the records still at the version the change left them at.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import msgspec

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.forms import Choice, Flag, Form, Ref, Refs, Tags, Text
from app.crm import bulk_queries
from app.crm.bulk_custom import describe_custom
from app.crm.bulk_kinds import BulkParams, KindSteps, Previous, json_text, steps_of, view_selection
from app.crm.common import insert_mine
from app.crm.tables import BulkChange

MAX_IN_REQUEST = 200  # a selection this large runs in the request, in one transaction
MAX_IN_JOB = 100_000  # beyond this, narrow the view first
UNDO_MINUTES = 10
ACTIONS = ("owner", "add_tag", "remove_tag", "stage", "custom", "delete")
TOO_MANY = f"Choose at most {MAX_IN_REQUEST:,} rows by ticking them, or take all of the view."
TOO_BIG = f"A bulk change takes at most {MAX_IN_JOB:,} records: narrow the view with its filters."


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
    stage_id: Annotated[UUID | None, Ref("Choose a stage of this pipeline.")] = None
    lost_reason: Annotated[str, Text("the reason", 1000)] = ""
    field_id: Annotated[UUID | None, Ref("Choose one of this list's custom fields.")] = None
    custom_value: Annotated[str, Text("the value", 2000)] = ""
    clear: Annotated[bool, Flag("Clear it")] = False
    confirmed: Annotated[bool, Flag("the confirmation")] = False

    def problems(self) -> dict[str, str]:
        if self.action in ("add_tag", "remove_tag") and len(self.tag) != 1:
            return {"tag": "Type one tag."}
        if self.action == "stage" and self.stage_id is None:
            return {"stage_id": "Choose the stage to move the deals to."}
        if self.action == "custom" and self.field_id is None:
            return {"field_id": "Choose the custom field to set."}
        if self.scope != "view" and not self.ids:
            return {"form": "Tick the records to change first."}
        return {}

    def params(self) -> BulkParams:
        return BulkParams(
            action=self.action,
            owner_id=self.owner_id,
            tag=self.tag[0] if self.tag else "",
            stage_id=self.stage_id,
            lost_reason=self.lost_reason.strip(),
            field_id=self.field_id if self.action == "custom" else None,
            custom_raw=self.custom_value if self.action == "custom" else "",
            clear=self.clear and self.action == "custom",
        )


@dataclass(frozen=True)
class Selection:
    """The records a bulk action will change (this workspace's only) and what it will do:
    `ids` when they are few enough for the request, else only `total` (a job freezes the view's
    ids when it starts)."""

    kind: str  # contacts | companies | deals
    form: BulkForm
    ids: list[UUID]
    total: int
    params: BulkParams
    list_url: str
    lost: bool = False  # the target stage is a lost one: the confirmation asks why

    @property
    def count(self) -> int:
        return self.total

    @property
    def as_job(self) -> bool:
        return self.total > MAX_IN_REQUEST

    def question(self) -> str:
        """The confirmation's question, naming the count: "Delete 1,234 contacts?"."""
        return describe(self.kind, self.params, self.total, asking=True)


def describe(kind: str, params: BulkParams, count: int, *, asking: bool = False) -> str:
    """An action in words: "Delete 3 deals?" (asking), or "Deleted 3 deals"."""
    steps = steps_of(kind)
    what = f"{count:,} {steps.singular if count == 1 else kind}"
    tag, owner = params.tag, params.owner_name or "no owner"
    label, value = params.field_label, params.custom_text
    if params.action == "custom" and params.clear:
        return f"Clear {label} on {what}" + ("?" if asking else "")
    if asking:
        text = {
            "owner": f"Assign {what} to {owner}",
            "add_tag": f"Add the tag “{tag}” to {what}",
            "remove_tag": f"Remove the tag “{tag}” from {what}",
            "stage": f"Move {what} to {params.stage_name}",
            "custom": f"Set {label} to “{value}” on {what}",
            "delete": f"Delete {what}",
        }
        return text[params.action] + "?"
    done = {
        "owner": f"Assigned {what} to {owner}",
        "add_tag": f"Tagged {what} “{tag}”",
        "remove_tag": f"Removed the tag “{tag}” from {what}",
        "stage": f"Moved {what} to {params.stage_name}",
        "custom": f"Set {label} to “{value}” on {what}",
        "delete": f"Deleted {what}",
    }
    return done[params.action]


def summary(kind: str, params: BulkParams, changed: int, kept: int) -> str:
    """The change's summary once done: "Deleted 4 companies (1 with invoices kept)."."""
    text = describe(kind, params, changed)
    note = steps_of(kind).kept_note
    if kept and note:
        text += f" ({kept:,} {note})"
    return (text + ".")[:500]


def _steps_for(kind: str, action: str) -> KindSteps:
    steps = steps_of(kind)
    if action not in steps.actions:
        raise FormInvalid({"action": f"That action isn't available on the {kind} list."})
    return steps


async def select(current: Current, kind: str, form: BulkForm) -> Selection:
    """The selection `form` names, read in this workspace: another workspace's ids (and ones
    deleted meanwhile) are left out; FormInvalid when it is empty or too large."""
    steps = _steps_for(kind, form.action)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        if form.action == "custom":
            params = await describe_custom(steps.singular, form.params())
        else:
            params = await steps.describe(conn, form.params())
        if form.scope == "view":
            from_sql, id_col, where, sql_params = await view_selection(
                conn, steps, current.tenant_id, form.view_query
            )
            total = await bulk_queries.count_view(conn, from_sql, id_col, where, sql_params)
            ids: list[UUID] = []
            if total <= MAX_IN_REQUEST:
                ids = await bulk_queries.view_ids(
                    conn, from_sql, id_col, where, sql_params, MAX_IN_REQUEST
                )
                total = len(ids)
        else:
            ids = await steps.record_ids(conn, form.ids)
            total = len(ids)
    if total > MAX_IN_JOB:
        raise FormInvalid({"form": TOO_BIG})
    if not total:
        raise FormInvalid({"form": f"None of the chosen {kind} are there any more."})
    lost = params.action == "stage" and params.stage_kind == "lost"
    return Selection(kind, form, ids, total, params, steps.list_url, lost)


async def record_change(
    current: Current, change_id: UUID, kind: str, params: BulkParams, text: str, **rest: object
) -> None:
    """Keep the bulk change `change_id` on `kind`: its action and parameters, said as `text`;
    `rest` are the columns only some changes set (the previous values, a job's status…)."""
    await insert_mine(
        BulkChange,
        current,
        change_id,
        kind=kind,
        action=params.action,
        summary=text,
        params=msgspec.json.encode(params).decode(),
        **rest,
    )


async def apply(current: Current, selection: Selection) -> tuple[UUID, int, int]:
    """Carry out the confirmed action on a selection of at most MAX_IN_REQUEST records, in
    one transaction; (bulk change id, changed, kept). A record already as asked is left
    alone (no version bump, no timeline entry)."""
    steps = steps_of(selection.kind)
    change_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        outcome = await steps.apply(current, conn, selection.params, selection.ids)
        changed = len(outcome.changed)
        text = summary(selection.kind, selection.params, changed, outcome.kept)
        await record_change(
            current,
            change_id,
            selection.kind,
            selection.params,
            text,
            previous=msgspec.json.encode(outcome.changed).decode(),
            total=selection.total,
            done=selection.total,
        )
        steps.push(current.tenant_id)
    return change_id, changed, outcome.kept


@dataclass(frozen=True)
class ChangeView:
    """A bulk change as its page shows it: what, how far, and whether it can be undone."""

    id: UUID
    kind: str
    action: str
    summary: str
    count: int
    undoable: bool
    undone: bool
    status: str = "done"
    total: int = 0
    done: int = 0
    list_url: str = ""
    cancellable: bool = False
    error: str = ""
    is_job: bool = False

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)


def undoable(row: Mapping[str, object], now: datetime) -> bool:
    """Can this change still be undone: not a delete or an undo, not undone, finished within
    the last UNDO_MINUTES (a job counts from its end)."""
    made = row.get("finished_at") or row["created_at"]
    fresh = isinstance(made, datetime) and made > now - timedelta(minutes=UNDO_MINUTES)
    finished = row.get("status", "done") in ("done", "cancelled", "failed")
    not_undo = row["action"] not in ("delete", "undo")
    return not_undo and finished and row["undone_at"] is None and fresh


async def get_change(current: Current, change_id: UUID) -> ChangeView:
    """A bulk change of this workspace (RecordNotFound: not there, or another's)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await BulkChange.select().where(BulkChange.id == change_id).first()
        if row is None:
            raise RecordNotFound("bulk change")
        params = msgspec.json.decode(json_text(row["params"]), type=BulkParams | None)
        if params is not None and params.job:
            count = await bulk_queries.changed_count(conn, current.tenant_id, change_id)
        else:
            count = len(msgspec.json.decode(json_text(row["previous"]), type=list[Previous]))
    mine = row["user_id"] == current.user_id or current.is_admin
    return ChangeView(
        row["id"],
        row["kind"],
        row["action"],
        row["summary"],
        count,
        undoable(row, datetime.now(UTC)) and mine,
        row["undone_at"] is not None,
        status=row["status"],
        total=row["total"],
        done=row["done"],
        list_url=steps_of(row["kind"]).list_url,
        cancellable=row["status"] in ("queued", "running") and mine,
        error=row["error"] or "",
        is_job=bool(params and params.job),
    )


async def undo(current: Current, change_id: UUID) -> tuple[int, int]:
    """Restore what a change made in the request changed, on the records still at the version
    it left them at; (restored, left: edited or deleted since). FormInvalid when it can no
    longer be undone (undone already, too old, a delete, someone else's for a member). A job's
    change is undone by a job: see app/crm/bulk_jobs.py `start_undo`."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await lock_for_undo(current, change_id)
        steps = steps_of(str(row["kind"]))
        previous = msgspec.json.decode(json_text(row["previous"]), type=list[Previous] | None) or []
        restored = len(await steps.restore(current, conn, str(row["action"]), previous))
        steps.push(current.tenant_id)
        await BulkChange.update({BulkChange.undone_at: datetime.now(UTC)}).where(
            BulkChange.id == change_id
        )
    return restored, len(previous) - restored


async def lock_change(current: Current, change_id: UUID, refusal: str) -> dict[str, object]:
    """Inside a tenant transaction: the change's row, locked, if `current` made it or is an
    admin (else FormInvalid saying `refusal`)."""
    row = await BulkChange.select().where(BulkChange.id == change_id).lock_rows().first()
    if row is None:
        raise RecordNotFound("bulk change")
    if row["user_id"] != current.user_id and not current.is_admin:
        raise FormInvalid({"form": refusal})
    return dict(row)


async def lock_for_undo(current: Current, change_id: UUID) -> dict[str, object]:
    """Inside a tenant transaction: the change's row, locked, if `current` may undo it now."""
    refusal = "Only the member who made this change, or an admin, can undo it."
    row = await lock_change(current, change_id, refusal)
    if not undoable(row, datetime.now(UTC)):
        raise FormInvalid({"form": "This change can no longer be undone."})
    return row
