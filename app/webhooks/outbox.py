"""Deliveries written with the change they announce: the subscribers of the domain events
(app.core.events: a CRM record's timeline entry, a member joining) insert one delivery per
subscription that chose the event and may read its object, inside the emitting transaction,
each body cut to that subscription's scopes (app.webhooks.scopes), and queue its job after
commit. A crash before the commit loses the change and its deliveries together; a lost
enqueue after it is caught by the sweep (app.webhooks.jobs.sweep_webhooks)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID

import msgspec

from app.core.availability import BACKEND_DOWN
from app.core.db import after_commit, connection
from app.core.events import MemberJoined, RecordChanged
from app.core.redis import queue
from app.core.rows import row_as
from app.crm.secure import open_contact
from app.webhooks import queries
from app.webhooks.schemas import (
    CompanyData,
    ContactData,
    Data,
    DealData,
    EventBody,
    InvoiceData,
    MemberData,
    encode_body,
    event_name,
)
from app.webhooks.scopes import CONTACTS, cut_body, scope_of

DELIVER_JOB = "deliver_webhook"
log = logging.getLogger("odex.webhooks")

_SHAPES: dict[str, type[ContactData | CompanyData | DealData | InvoiceData]] = {
    "contact": ContactData,
    "company": CompanyData,
    "deal": DealData,
    "invoice": InvoiceData,
}


async def enqueue_delivery(tenant_id: UUID, delivery_id: UUID) -> None:
    """Queue one delivery's job now (call after commit); a lost enqueue is left to the sweep."""
    try:
        await queue().enqueue_job(
            DELIVER_JOB,
            str(tenant_id),
            str(delivery_id),
            _job_id=f"webhook:{delivery_id}:{time.time_ns()}",
        )
    except BACKEND_DOWN as exc:
        log.warning("webhook delivery %s left for the sweep (%s)", delivery_id, exc)


def enqueue_after_commit(tenant_id: UUID, delivery_id: UUID) -> None:
    async def enqueue() -> None:
        await enqueue_delivery(tenant_id, delivery_id)

    after_commit(enqueue)


# loads the event's data once someone wants it; given whether a deal's contacts are wanted
Loader = Callable[[bool], Awaitable[Data | None]]


async def queue_event(
    tenant_id: UUID,
    event: str,
    object_kind: str,
    object_id: UUID,
    actor_id: UUID | None,
    load: Loader,
    changed: list[str],
) -> int:
    """One delivery per subscription of the workspace that chose `event` and may read its
    object, each body cut to the subscription's scopes; how many."""
    conn = connection()
    wanting = await queries.hooks_wanting(conn, tenant_id, event, scope_of(event))
    if not wanting:
        return 0
    data = await load(any(CONTACTS in hook.scopes for hook in wanting))
    body = EventBody(
        id=uuid.uuid4(),
        type=event,
        created_at=datetime.now(UTC),
        workspace_id=tenant_id,
        actor_id=actor_id,
        object=object_kind,
        object_id=object_id,
        data=data,
        changed=changed,
    )
    payloads: dict[tuple[tuple[str, ...], bool], str] = {}  # one body per view of the event
    for hook in wanting:
        view = (tuple(hook.scopes), hook.personal_data)
        if view not in payloads:
            payloads[view] = encode_body(cut_body(body, hook.scopes, hook.personal_data)).decode()
        payload = payloads[view]
        delivery_id = uuid.uuid4()
        await queries.insert_delivery(
            conn,
            delivery_id,
            tenant_id,
            hook.id,
            body.id,
            event,
            f"{object_kind}:{object_id}",
            payload,
        )
        enqueue_after_commit(tenant_id, delivery_id)
    return len(wanting)


async def _record_data(kind: str, record_id: UUID, with_contacts: bool) -> Data | None:
    """The record as the event shows it: only the fields its shape names (no ciphertext, no
    index columns; a contact's emails and phones opened as the app shows them; a deal's
    contacts when a subscriber may read contacts)."""
    conn = connection()
    row = await queries.record(conn, kind, record_id)
    if row is None:
        return None
    values = open_contact(row) if kind == "contact" else dict(row)
    if kind == "deal" and with_contacts:
        rows = await queries.deal_contacts(conn, record_id)
        values["contacts"] = [open_contact(r) for r in rows]  # read as DealContact below
    return row_as(_SHAPES[kind], values)


async def on_record_changed(change: RecordChanged) -> None:
    """A CRM record's timeline entry: the webhook event it is, if any, to its subscribers."""
    event = event_name(change.subject_type, change.action, change.changes)
    if event is None:
        return
    deleted = change.action == "deleted"

    async def load(with_contacts: bool) -> Data | None:
        if deleted:
            return None
        return await _record_data(change.subject_type, change.subject_id, with_contacts)

    changed = sorted(change.changes) if change.action in ("updated", "moved", "status") else []
    await queue_event(
        change.tenant_id,
        event,
        change.subject_type,
        change.subject_id,
        change.actor_id,
        load,
        changed,
    )


async def on_member_joined(joined: MemberJoined) -> None:
    async def load(_: bool) -> Data:
        return MemberData(user_id=joined.user_id, role=joined.role)

    await queue_event(
        joined.tenant_id, "member.joined", "member", joined.user_id, joined.user_id, load, []
    )


def recut(payload: str, scopes: list[str], personal: bool) -> str | None:
    """A stored body cut to (narrower) scopes: unchanged when nothing had to go; None when
    its event is outside them now, or the body can't be read (then it must not be sent)."""
    try:
        body = msgspec.json.decode(payload, type=EventBody)
    except msgspec.MsgspecError:
        return None
    if scope_of(body.type) not in scopes:
        return None
    kept = cut_body(body, scopes, personal)
    return payload if kept == body else encode_body(kept).decode()
