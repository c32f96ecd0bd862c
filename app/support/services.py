"""Support actions: take an inquiry (with spam limits), list and answer tickets (staff only)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from uuid import UUID

from app.accounts.roles import require_staff
from app.accounts.schemas import Current
from app.core.db import global_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.mail import queue_mail
from app.core.paging import Window
from app.core.ratelimit import Limit, hit, wait_text
from app.core.rows import row_as, rows_as
from app.settings import get_settings
from app.support import queries
from app.support.forms import MAX_MESSAGE, MAX_REPLY, STATUSES, TOPICS, InquiryForm
from app.support.queries import MessageRow, TicketRow
from app.support.tables import SupportMessage, SupportTicket

__all__ = ["MAX_MESSAGE", "MAX_REPLY", "STATUSES", "TOPICS"]  # the pages read them from here
Inquiry = InquiryForm  # a support request, read by the form (or made by a caller)

# Spam: a person rarely needs more than a few requests an hour; bots are stopped here and by
# the honeypot field in the form.
PER_IP = Limit("support-ip", 5, 3600)
PER_EMAIL = Limit("support-email", 3, 3600)


async def check_rate(ip: str, email: str) -> None:
    """Refuse a burst of requests from one address or for one mailbox, with the wait time."""
    wait = max(await hit(PER_IP, ip or "unknown"), await hit(PER_EMAIL, email))
    if wait:
        raise FormInvalid(
            {
                "form": "You've sent several requests in a short time. We'll answer those "
                f"first; you can send another in {wait_text(wait)}, or write to "
                f"{get_settings().privacy_contact}."
            }
        )


async def submit_inquiry(inquiry: Inquiry, user_id: UUID | None, ip: str) -> int:
    """Open a ticket with the request as its first message and mail a confirmation."""
    await check_rate(ip, inquiry.email)
    now = datetime.now(UTC)
    async with global_transaction():
        rows = await SupportTicket.insert(
            SupportTicket(
                user_id=user_id,
                name=inquiry.name,
                email=inquiry.email,
                topic=inquiry.topic,
                subject=inquiry.subject,
                status="open",
                created_at=now,
                updated_at=now,
            )
        ).returning(SupportTicket.id)
        ticket_id = int(rows[0]["id"])
        await SupportMessage.insert(
            SupportMessage(ticket_id=ticket_id, author="requester", body=inquiry.message)
        )
        await queue_mail(
            "support_received",
            inquiry.email,
            f"We received your request #{ticket_id}: {inquiry.subject}",
            "support_received.txt",
            name=inquiry.name,
            ticket_id=ticket_id,
            request_subject=inquiry.subject,
            topic=TOPICS[inquiry.topic],
            message=inquiry.message,
            privacy_contact=get_settings().privacy_contact,
        )
    return ticket_id


_require_staff = partial(require_staff, why="Only Odex staff can see support requests.")


INBOX_PAGE = 50


async def list_tickets(
    current: Current, status: str | None, q: str = "", before: str | None = None
) -> tuple[list[TicketRow], str | None]:
    """A page of the inbox, newest activity first, optionally one status and a search over
    subject, name and email; returns the tickets and the cursor of the next (older) page."""
    _require_staff(current)
    window = Window(queries.LATEST_ACTIVITY, after=before or None, limit=INBOX_PAGE)
    chosen = status if status in STATUSES else None
    async with global_transaction() as conn:
        page = await queries.inbox_page(conn, chosen, q.strip()[:200], window)
    return rows_as(TicketRow, page.rows), page.next_cursor


async def status_counts(current: Current) -> dict[str, int]:
    _require_staff(current)
    async with global_transaction() as conn:
        found = await queries.tickets_by_status(conn)
    counts = {status: 0 for status in STATUSES}
    counts.update(found)
    return counts


async def get_ticket(current: Current, ticket_id: int) -> tuple[TicketRow, list[MessageRow]]:
    """A ticket and its thread, oldest message first."""
    _require_staff(current)
    async with global_transaction():
        ticket = await SupportTicket.select().where(SupportTicket.id == ticket_id).first()
        if ticket is None:
            raise RecordNotFound()
        thread = await (
            SupportMessage.select()
            .where(SupportMessage.ticket_id == ticket_id)
            .order_by(SupportMessage.id)
        )
    return row_as(TicketRow, ticket), rows_as(MessageRow, thread)


async def reply_to_ticket(current: Current, ticket_id: int, body: str, close: bool) -> None:
    """Add a staff reply, mail it to the requester, mark the ticket answered (or closed)."""
    _require_staff(current)
    text = body  # read by ReplyForm
    async with global_transaction():
        ticket = await SupportTicket.select().where(SupportTicket.id == ticket_id).first()
        if ticket is None:
            raise RecordNotFound()
        await SupportMessage.insert(
            SupportMessage(
                ticket_id=ticket_id, author="staff", staff_user_id=current.user_id, body=text
            )
        )
        await SupportTicket.update(
            {
                SupportTicket.status: "closed" if close else "answered",
                SupportTicket.updated_at: datetime.now(UTC),
            }
        ).where(SupportTicket.id == ticket_id)
        await queue_mail(
            "support_reply",
            ticket["email"],
            f"Re: {ticket['subject']} [request #{ticket_id}]",
            "support_reply.txt",
            name=ticket["name"],
            ticket_id=ticket_id,
            body=text,
            staff_name=current.name.split(" ")[0],
            closed=close,
            support_url=f"{get_settings().base_url}/support",
        )


async def set_ticket_status(current: Current, ticket_id: int, status: str) -> None:
    """Reopen or close a ticket without replying."""
    _require_staff(current)
    async with global_transaction():
        rows = (
            await SupportTicket.update(
                {SupportTicket.status: status, SupportTicket.updated_at: datetime.now(UTC)}
            )
            .where(SupportTicket.id == ticket_id)
            .returning(SupportTicket.id)
        )
    if not rows:
        raise RecordNotFound()


async def forget_requester(user_id: UUID | None, email: str) -> int:
    """Erase a person's support tickets (theirs by login or by address) with their threads.

    For the privacy domain's account deletion job: call it outside any tenant transaction.
    """
    async with global_transaction() as conn:
        return await queries.delete_tickets_of(conn, email.strip(), user_id)
