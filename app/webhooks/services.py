"""Webhook actions for a workspace's admins: subscribe an address (with what it may read), turn
it on or off, delete it, read its delivery log and send a delivery again. Every action is
audit-logged; adding a subscription, giving it a new address or personal data also raises a
security alert (it sends workspace data to another address)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from uuid import UUID

import msgspec

from app.accounts.roles import require_admin
from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import EditConflict, FormInvalid, RecordNotFound
from app.core.rows import NOW, rows_as
from app.security.alerts import raise_security_alert
from app.security.audit import record_audit
from app.webhooks import hook_queries, queries, sender
from app.webhooks.forms import WebhookEdit, WebhookForm
from app.webhooks.jobs import allow_local_targets
from app.webhooks.outbox import enqueue_after_commit, recut
from app.webhooks.queries import DeliveryRow, Hook
from app.webhooks.scopes import PERSONAL_LABEL, SCOPES
from app.webhooks.secret import new_secret, open_secret, seal_secret
from app.webhooks.tables import WebhookDelivery, WebhookSubscription

MAX_HOOKS = 20  # per workspace
LOG_PAGE = 25
TURNED_OFF = "turned off by an admin"
STALE = "This webhook changed since the page was opened. Look at it again, then delete it."
STALE_ROTATE = (
    "This webhook changed since the page was opened. Look at it again, then make a new secret."
)
CHANGED = (
    "Someone changed this webhook after you opened this page. Check it again;"
    " saving once more keeps your version."
)
OVERLAP = timedelta(hours=24)  # how long the replaced secret still signs after a rotation
OUT_OF_SCOPE = "not sent: the webhook may no longer read this"
REDELIVER_REFUSED = (
    "This delivery can't be sent again: the webhook may no longer read its event's record."
    " Tick its scope on the webhook's Edit page first."
)


def _reads(scopes: list[str], personal: bool) -> str:
    """What a subscription may read, as the audit log and the alerts say it."""
    names = ", ".join(SCOPES[s] for s in scopes if s in SCOPES) or "nothing"
    return f"{names}; {PERSONAL_LABEL} {'included' if personal else 'left out'}"


_require_admin = partial(require_admin, why="Only admins and owners can manage webhooks.")


def _label(current: Current) -> str:
    return f"{current.name} ({current.email})"


async def list_hooks(current: Current) -> list[Hook]:
    _require_admin(current)
    async with tenant_transaction(current.tenant_id) as conn:
        return await queries.hooks(conn, current.tenant_id)


async def get_hook(current: Current, hook_id: UUID) -> Hook:
    _require_admin(current)
    async with tenant_transaction(current.tenant_id) as conn:
        found = await queries.hook(conn, current.tenant_id, hook_id)
    if found is None:
        raise RecordNotFound("webhook")
    return found


@dataclass(frozen=True)
class Created:
    """A new subscription (or a rotated secret) and its secret (shown this once, never
    again); after a rotation, until when the replaced secret still signs."""

    hook_id: UUID
    secret: str
    previous_until: datetime | None = None


async def _check_url(url: str) -> None:
    """The address must be allowed (https, public): the same rules when it is created, edited
    and whenever a delivery goes out."""
    try:
        await sender.resolve(url, allow_local=allow_local_targets())
    except sender.TargetRefused as exc:
        raise FormInvalid({"url": str(exc)}) from exc


async def create_hook(current: Current, form: WebhookForm) -> Created:
    """Subscribe `form.url` to `form.events`; the address must be allowed (https, public)."""
    _require_admin(current)
    await _check_url(form.url)
    hook_id, secret = uuid.uuid4(), new_secret()
    async with tenant_transaction(current.tenant_id, current.user_id):
        if await WebhookSubscription.count() >= MAX_HOOKS:
            raise FormInvalid({"form": f"A workspace can have at most {MAX_HOOKS} webhooks."})
        await WebhookSubscription.insert(
            WebhookSubscription(
                id=hook_id,
                tenant_id=current.tenant_id,
                url=form.url.strip(),
                events=form.events,
                scopes=form.scopes,
                personal_data=form.personal_data,
                description=form.description,
                secret_enc=seal_secret(secret, current.tenant_id, hook_id),
                created_by=current.user_id,
            )
        )
        details: dict[str, object] = {
            "summary": form.url,
            "events": ", ".join(form.events),
            "reads": _reads(form.scopes, form.personal_data),
        }
        await record_audit(
            current.tenant_id,
            current.user_id,
            "webhooks.created",
            form.url,
            details,
            actor_label=_label(current),
        )
        await raise_security_alert(current.tenant_id, "webhook_created", current.user_id, details)
    return Created(hook_id, secret)


class PendingBody(msgspec.Struct):
    """A delivery not yet sent, with its body (to cut again when the scopes narrow)."""

    id: UUID
    event: str
    payload: str


async def _lock_pending_bodies(tenant_id: UUID, hook_id: UUID) -> list[PendingBody]:
    """The subscription's pending deliveries, locked (before the subscription's row, in the
    order a delivery job takes its locks)."""
    rows = await (
        WebhookDelivery.select(WebhookDelivery.id, WebhookDelivery.event, WebhookDelivery.payload)
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.subscription_id == hook_id,
            WebhookDelivery.status == "pending",
        )
        .order_by(WebhookDelivery.seq)
        .lock_rows("UPDATE")
    )
    return rows_as(PendingBody, rows)


async def _recut_pending(tenant_id: UUID, pending: list[PendingBody], form: WebhookEdit) -> None:
    """Bodies not sent yet, cut to the scopes just saved: nothing leaves that they forbid
    (a delivery whose event they no longer reach is given up, never sent, saying why)."""
    outside: list[UUID] = []
    for delivery in pending:
        payload = recut(delivery.payload, form.scopes, form.personal_data)
        if payload is None:
            outside.append(delivery.id)
        elif payload != delivery.payload:
            await WebhookDelivery.update({WebhookDelivery.payload: payload}).where(
                WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.id == delivery.id
            )
    if outside:
        await WebhookDelivery.update(
            {
                WebhookDelivery.status: "failed",
                WebhookDelivery.finished_at: NOW,
                WebhookDelivery.error: OUT_OF_SCOPE,
            }
        ).where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.id.is_in(outside),
            WebhookDelivery.status == "pending",
        )


async def update_hook(current: Current, hook_id: UUID, form: WebhookEdit) -> None:
    """Change a subscription's address (checked by the same rules as a new one), events,
    scopes, personal-data choice and description, as the page showed it (`form.version`;
    EditConflict when it moved on). Pending deliveries are cut to the new scopes. A new
    address, or personal data turned on, raises a security alert, as adding a webhook does."""
    _require_admin(current)
    url = form.url.strip()
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        pending = await _lock_pending_bodies(current.tenant_id, hook_id)
        before = await hook_queries.lock_hook(conn, current.tenant_id, hook_id)
        if before is None:
            raise RecordNotFound("webhook")
        if before.version != form.version:
            theirs = {
                name: shown
                for name, mine, stored, shown in (
                    ("url", url, before.url, before.url),
                    ("events", form.events, before.events, ", ".join(before.events)),
                    (
                        "scopes",
                        (form.scopes, form.personal_data),
                        (before.scopes, before.personal_data),
                        _reads(before.scopes, before.personal_data),
                    ),
                    ("description", form.description, before.description, before.description),
                )
                if mine != stored
            }
            raise EditConflict(CHANGED, theirs, before.version)
        await _check_url(url)
        saved = await hook_queries.update_hook(
            conn,
            current.tenant_id,
            hook_id,
            form.version,
            url,
            form.events,
            form.scopes,
            form.personal_data,
            form.description,
        )
        if not saved:  # the row lock makes this unreachable; never say "saved" all the same
            raise RecordNotFound("webhook")
        await _recut_pending(current.tenant_id, pending, form)
        details: dict[str, object] = {
            "summary": url,
            "events": ", ".join(form.events),
            "reads": _reads(form.scopes, form.personal_data),
        }
        if url != before.url:
            details["previous_url"] = before.url
        wider = form.personal_data and not before.personal_data
        await record_audit(
            current.tenant_id,
            current.user_id,
            "webhooks.updated",
            url,
            details,
            actor_label=_label(current),
        )
        if url != before.url or wider:
            await raise_security_alert(
                current.tenant_id, "webhook_created", current.user_id, details
            )


async def rotate_secret(current: Current, hook_id: UUID, version: int) -> Created:
    """A new signing secret (shown once); the one it replaces still signs every delivery
    beside it for 24 hours, so the receiver can switch without refusing a call. A second
    rotation within that time drops the oldest secret."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        before = await hook_queries.lock_hook(conn, current.tenant_id, hook_id)
        if before is None:
            raise RecordNotFound("webhook")
        if before.version != version:
            raise FormInvalid({"form": STALE_ROTATE})
        tenant_id, secret = current.tenant_id, new_secret()
        replaced = open_secret(before.secret_enc, tenant_id, hook_id)
        sealed = (
            seal_secret(secret, tenant_id, hook_id),
            seal_secret(replaced, tenant_id, hook_id, "previous_secret_enc"),
        )
        until = await hook_queries.rotate_secret(
            conn, tenant_id, hook_id, version, sealed, OVERLAP.total_seconds()
        )
        if until is None:  # the row lock makes this unreachable
            raise RecordNotFound("webhook")
        await record_audit(
            tenant_id,
            current.user_id,
            "webhooks.secret_rotated",
            before.url,
            {"summary": before.url, "previous_valid_until": until.isoformat()},
            actor_label=_label(current),
        )
    return Created(hook_id, secret, until)


async def set_enabled(current: Current, hook_id: UUID, enabled: bool) -> None:
    """Turn a subscription on (its failure streak starts over) or off (its pending deliveries
    are given up: they can be sent again from the log)."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        if enabled:
            url = await queries.enable_hook(conn, current.tenant_id, hook_id)
        else:
            off = await queries.disable_hook(conn, current.tenant_id, hook_id, TURNED_OFF)
            url = off[0] if off else None
        if url is None:
            raise RecordNotFound("webhook")
        await record_audit(
            current.tenant_id,
            current.user_id,
            "webhooks.enabled" if enabled else "webhooks.disabled",
            url,
            actor_label=_label(current),
        )


async def delete_hook(current: Current, hook_id: UUID, version: int) -> None:
    """Delete a subscription with its delivery log (as the page showed it: `version`)."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id):
        gone = await (
            WebhookSubscription.delete()
            .where((WebhookSubscription.id == hook_id) & (WebhookSubscription.version == version))
            .returning(WebhookSubscription.url)
        )
        if not gone and await WebhookSubscription.exists().where(WebhookSubscription.id == hook_id):
            raise FormInvalid({"form": STALE})
        if not gone:
            raise RecordNotFound("webhook")
        await record_audit(
            current.tenant_id,
            current.user_id,
            "webhooks.deleted",
            str(gone[0]["url"]),
            actor_label=_label(current),
        )


async def delivery_log(
    current: Current, hook_id: UUID, before: int | None
) -> tuple[list[DeliveryRow], int | None]:
    """A page of the subscription's deliveries, newest first, and the cursor of the next."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id) as conn:
        if await queries.hook(conn, current.tenant_id, hook_id) is None:
            raise RecordNotFound("webhook")
        rows = await queries.deliveries(conn, current.tenant_id, hook_id, before, LOG_PAGE + 1)
    more = rows[LOG_PAGE - 1].seq if len(rows) > LOG_PAGE else None
    return rows[:LOG_PAGE], more


async def redeliver(current: Current, hook_id: UUID, delivery_id: UUID) -> UUID:
    """Send a delivery's body again, as a new delivery (after the record's pending ones), cut
    to what the subscription may read now; refused when that no longer covers its event."""
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        copy = await queries.delivery_to_copy(conn, current.tenant_id, hook_id, delivery_id)
        hook = await queries.hook(conn, current.tenant_id, hook_id)
        if copy is None or hook is None:
            raise RecordNotFound("delivery")
        payload = recut(copy.payload, hook.scopes, hook.personal_data)
        if payload is None:
            raise FormInvalid({"form": REDELIVER_REFUSED})
        new_id = uuid.uuid4()
        await queries.insert_delivery(
            conn,
            new_id,
            current.tenant_id,
            hook_id,
            copy.event_id,
            copy.event,
            copy.order_key,
            payload,
            redelivery_of=copy.id,
        )
        await record_audit(
            current.tenant_id,
            current.user_id,
            "webhooks.redelivered",
            copy.event,
            {"delivery_id": str(copy.id)},
            actor_label=_label(current),
        )
        enqueue_after_commit(current.tenant_id, new_id)
    return new_id
