"""Deliveries written with the change they announce: the subscribers of the domain events
(app.core.events: a CRM record's timeline entry, a member joining) insert one delivery per
subscription that chose the event, inside the emitting transaction, and queue its job after
commit. A crash before the commit loses the change and its deliveries together; a lost
enqueue after it is caught by the sweep (app.webhooks.jobs.sweep_webhooks)."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from uuid import UUID

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


async def queue_event(
    tenant_id: UUID,
    event: str,
    object_kind: str,
    object_id: UUID,
    actor_id: UUID | None,
    data: Data | None,
    changed: list[str],
) -> int:
    """One delivery per subscription of the workspace that chose `event`; how many."""
    conn = connection()
    wanting = await queries.hooks_wanting(conn, tenant_id, event)
    if not wanting:
        return 0
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
    payload = encode_body(body).decode()
    for hook_id in wanting:
        delivery_id = uuid.uuid4()
        await queries.insert_delivery(
            conn,
            delivery_id,
            tenant_id,
            hook_id,
            body.id,
            event,
            f"{object_kind}:{object_id}",
            payload,
        )
        enqueue_after_commit(tenant_id, delivery_id)
    return len(wanting)


async def _record_data(kind: str, record_id: UUID) -> Data | None:
    """The record as the event shows it: only the fields its shape names (no ciphertext, no
    index columns; a contact's emails and phones opened as the app shows them)."""
    row = await queries.record(connection(), kind, record_id)
    if row is None:
        return None
    values = open_contact(row) if kind == "contact" else dict(row)
    return row_as(_SHAPES[kind], values)


async def on_record_changed(change: RecordChanged) -> None:
    """A CRM record's timeline entry: the webhook event it is, if any, to its subscribers."""
    event = event_name(change.subject_type, change.action, change.changes)
    if event is None:
        return
    deleted = change.action == "deleted"
    data = None if deleted else await _record_data(change.subject_type, change.subject_id)
    changed = sorted(change.changes) if change.action in ("updated", "moved", "status") else []
    await queue_event(
        change.tenant_id,
        event,
        change.subject_type,
        change.subject_id,
        change.actor_id,
        data,
        changed,
    )


async def on_member_joined(joined: MemberJoined) -> None:
    data = MemberData(user_id=joined.user_id, role=joined.role)
    await queue_event(
        joined.tenant_id, "member.joined", "member", joined.user_id, joined.user_id, data, []
    )
