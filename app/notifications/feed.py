"""The in-app feed: list, mark read, and the live bell pushed to `feed:<user>`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import UUID

import msgspec
from piccolo.querystring import QueryString

from app.accounts.schemas import Current
from app.core.db import after_commit, tenant_transaction
from app.core.errors import RecordNotFound
from app.core.paging import NEWEST_FIRST, Window, rows_of
from app.core.rows import row_as
from app.core.templating import render_html
from app.notifications.tables import Notification
from app.realtime.channels import feed_channel, publish

log = logging.getLogger("odex.notifications")


class FeedItem(msgspec.Struct, frozen=True):
    id: UUID
    kind: str
    title: str
    body: str
    link: str | None
    read: bool
    created_at: datetime


def _item(row: Mapping[str, object]) -> FeedItem:
    """A notification's row as the feed shows it (read once `read_at` is set)."""
    return row_as(FeedItem, {**row, "read": row["read_at"] is not None})


def render_bell(tenant_id: UUID, count: int, *, oob: bool = False, lazy: bool = False) -> str:
    ctx = {"tenant_id": tenant_id, "count": count, "oob": oob, "lazy": lazy}
    return render_html("notifications/_bell.html", ctx)


async def _unread(user_id: UUID) -> int:
    return await Notification.count().where(
        (Notification.user_id == user_id) & Notification.read_at.is_null()
    )


async def push_bell(tenant_id: UUID, user_id: UUID, notification_id: UUID | None = None) -> None:
    """Send the user's unread count (and the new notification, if any) to their open pages."""
    async with tenant_transaction(tenant_id, user_id):
        count = await _unread(user_id)
        row = None
        if notification_id is not None:
            row = await (
                Notification.select()
                .where((Notification.id == notification_id) & (Notification.user_id == user_id))
                .first()
            )
    html = render_bell(tenant_id, count, oob=True)
    if row is not None:
        html += render_html(
            "notifications/_push.html", {"item": _item(row), "tenant_id": tenant_id}
        )
    await publish(feed_channel(user_id), html)


def push_after_commit(tenant_id: UUID, user_id: UUID, notification_id: UUID | None) -> None:
    async def push() -> None:
        try:
            await push_bell(tenant_id, user_id, notification_id)
        except Exception:  # the notification is saved; the bell catches up on the next page
            log.exception("bell push failed")

    after_commit(push)


async def unread_count(current: Current, seen: str | None = None) -> int:
    """The unread count; `seen` is the page the user has open: notifications that link to it
    are read now (opening the deal you were assigned reads the assignment, however you got
    there: the feed, a mail, the address bar)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        if seen:
            await Notification.update({Notification.read_at: datetime.now(UTC)}).where(
                (Notification.user_id == current.user_id)
                & (Notification.link == seen)
                & Notification.read_at.is_null()
            )
        return await _unread(current.user_id)


PAGE = 50


async def list_feed(
    current: Current, before: str | None = None, limit: int = PAGE
) -> tuple[list[FeedItem], str | None]:
    """A page of the user's notifications in this workspace, newest first, and the cursor of
    the next (older) page or None."""
    window = Window(NEWEST_FIRST, after=before or None, limit=limit)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        page = await rows_of(
            conn, window, select="*", table="notifications", column="user_id", value=current.user_id
        )
    return [_item(r) for r in page.rows], page.next_cursor


async def latest_of_kind(user_id: UUID, prefix: str, limit: int) -> list[FeedItem]:
    """A person's latest notifications whose kind starts with `prefix` (e.g. "billing."),
    newest first, inside the caller's tenant transaction."""
    rows = await (
        Notification.select()
        .where((Notification.user_id == user_id) & Notification.kind.like(f"{prefix}%"))
        .order_by(Notification.created_at, ascending=False)
        .limit(limit)
    )
    return [_item(r) for r in rows]


async def mark_read(current: Current, notification_id: UUID) -> str | None:
    """Mark one notification read; returns its link (to follow it)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        read_at = QueryString("coalesce(read_at, {})", datetime.now(UTC))
        rows = (
            await Notification.update({Notification.read_at: read_at})
            .where((Notification.id == notification_id) & (Notification.user_id == current.user_id))
            .returning(Notification.link)
        )
        if not rows:
            raise RecordNotFound("notification")
        push_after_commit(current.tenant_id, current.user_id, None)
    link = rows[0]["link"]
    return str(link) if link else None


async def mark_all_read(current: Current) -> int:
    async with tenant_transaction(current.tenant_id, current.user_id):
        rows = (
            await Notification.update({Notification.read_at: datetime.now(UTC)})
            .where((Notification.user_id == current.user_id) & Notification.read_at.is_null())
            .returning(Notification.id)
        )
        push_after_commit(current.tenant_id, current.user_id, None)
    return len(rows)
