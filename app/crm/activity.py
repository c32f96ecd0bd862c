"""The activity timeline: `record_activity` (every CRM write calls it, deals too) and reads."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeAlias
from uuid import UUID

import msgspec

from app.accounts.schemas import Current
from app.core.db import connection
from app.core.errors import EditConflict
from app.core.events import RecordChanged, emit
from app.core.paging import encode_cursor
from app.crm.queries import insert_activity, timeline_rows

SUBJECT_TYPES = ("contact", "company", "deal", "invoice")


# A field value as the timeline stores it (JSON), and a diff of {field: {"from", "to"}}.
Plain: TypeAlias = "bool | int | str | list[Plain] | None"
Diff: TypeAlias = "dict[str, dict[str, Plain]]"


def _plain(value: object) -> Plain:
    """A JSON-safe, human-readable form of a field value for the stored diff."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def field_diff(
    before: Mapping[str, object] | None,
    after: Mapping[str, object] | None,
    fields: list[str] | tuple[str, ...],
) -> Diff:
    """{field: {"from": old, "to": new}} for the fields whose value changed."""
    changes: Diff = {}
    for name in fields:
        old = _plain((before or {}).get(name))
        new = _plain((after or {}).get(name))
        if old != new and not (old in (None, "", []) and new in (None, "", [])):
            changes[name] = {"from": old, "to": new}
    return changes


async def record_activity(
    tenant_id: UUID,
    actor_id: UUID | None,
    subject_type: str,
    subject_id: UUID,
    action: str,
    summary: str = "",
    changes: Mapping[str, Mapping[str, object]] | None = None,
) -> UUID:
    """Append one timeline entry; call inside the caller's `tenant_transaction`.

    `action` is a short verb ("created", "updated", "deleted", "moved", "note"...), `summary`
    a sentence for people, `changes` a `field_diff(...)`.
    """
    if subject_type not in SUBJECT_TYPES:
        raise ValueError(f"unknown subject type {subject_type!r}")
    # a programming error outside the caller's transaction (RLS needs its tenant)
    conn = connection()
    activity_id = uuid.uuid4()
    await insert_activity(
        conn,
        activity_id,
        tenant_id,
        (subject_type, subject_id),
        actor_id,
        action[:50],
        summary[:500],
        msgspec.json.encode(changes or {}).decode(),
    )
    plain = {k: {"from": v.get("from"), "to": v.get("to")} for k, v in (changes or {}).items()}
    # webhooks (and any other subscriber) hear of it in this transaction
    await emit(RecordChanged(tenant_id, subject_type, subject_id, action, actor_id, plain))
    return activity_id


async def log_activity(
    current: Current,
    subject_type: str,
    subject_id: UUID,
    action: str,
    summary: str,
    changes: Mapping[str, Mapping[str, object]] | None = None,
) -> UUID:
    """`record_activity` by the signed-in person, in their workspace."""
    return await record_activity(
        current.tenant_id, current.user_id, subject_type, subject_id, action, summary, changes
    )


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    actor: str
    action: str
    summary: str
    changes: Diff
    id: UUID


TIMELINE_SHOWN = 20  # a record page's latest entries; "Show older" brings as many more


@dataclass(frozen=True)
class TimelinePage:
    """Some of a record's timeline, newest first, and the link to the older entries (None:
    there are no more)."""

    entries: list[TimelineEntry]
    older: str | None


async def timeline(
    subject_type: str,
    subject_id: UUID,
    limit: int = 100,
    before: tuple[datetime, UUID] | None = None,
) -> list[TimelineEntry]:
    """Newest first (older than `before`: an entry's time and id), inside the caller's tenant
    transaction."""
    rows = await timeline_rows(connection(), limit, (subject_type, subject_id), before)
    return [
        TimelineEntry(
            r.created_at,
            r.actor or "Someone",
            r.action,
            r.summary,
            msgspec.json.decode(r.changes),
            r.id,
        )
        for r in rows
    ]


async def timeline_page(
    subject_type: str, subject_id: UUID, before: tuple[datetime, UUID] | None = None
) -> TimelinePage:
    """TIMELINE_SHOWN entries of a record's timeline (older than `before`), and the address of
    the next ones when there are more; inside the caller's tenant transaction."""
    entries = await timeline(subject_type, subject_id, TIMELINE_SHOWN + 1, before)
    if len(entries) <= TIMELINE_SHOWN:
        return TimelinePage(entries, None)
    last = entries[TIMELINE_SHOWN - 1]
    cursor = encode_cursor([last.when, last.id])
    older = f"/records/{subject_type}/{subject_id}/timeline?before={cursor}"
    return TimelinePage(entries[:TIMELINE_SHOWN], older)


def _as_text(value: Plain) -> str:
    if value in (None, "", []):
        return "(empty)"
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


async def _last_editor(subject_type: str, subject_id: UUID) -> str:
    latest = await timeline_rows(connection(), 1, (subject_type, subject_id))
    return (latest[0].actor if latest else None) or "Someone else"


async def edit_conflict(
    subject_type: str,
    subject_id: UUID,
    what: str,
    stored: Mapping[str, object] | None,
    mine: Mapping[str, object] | None,
    fields: tuple[str, ...],
    version: int,
) -> EditConflict:
    """The refusal of an edit made from an older version: what is saved now, beside the
    user's input (field by field), and who saved it. Call inside the tenant transaction."""
    theirs = {k: _as_text(c["from"]) for k, c in field_diff(stored, mine, fields).items()}
    who = await _last_editor(subject_type, subject_id)
    return EditConflict(
        f"{who} saved this {what} while you were editing it. Where the saved version differs"
        " from your input, it is shown under the field; your input is kept. Save again to"
        " apply your input over theirs, or cancel.",
        theirs,
        version,
    )


async def stale_page(
    subject_type: str,
    subject_id: UUID,
    what: str,
    version: int,
    retry: str = "if it should still go, confirm the delete once more",
) -> EditConflict:
    """The refusal of an action (a delete, a status change) chosen on a page that showed an
    older version of the record: the page again, asking once more."""
    who = await _last_editor(subject_type, subject_id)
    return EditConflict(
        f"{who} changed this {what} after you opened this page. Check it again; {retry}.",
        {},
        version,
    )
