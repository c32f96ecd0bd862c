"""Where support keeps personal data: tickets and their threads (between a person and staff)."""

from __future__ import annotations

import msgspec

from app.core.datamap import ExportFile as File
from app.core.datamap import Section, Subject, Viewer, col, register, table_place, utc
from app.core.db import global_transaction
from app.support import queries
from app.support.services import forget_requester

OWNER = "support"


async def _read_tickets(viewer: Viewer, after: str | None, limit: int) -> Section:
    async with global_transaction() as conn:
        rows = await queries.tickets_of(conn, viewer.user_id, viewer.email)
    return Section(
        "Support tickets",
        [
            ("id", "Ticket"),
            ("created_at", "Opened"),
            ("subject", "Subject"),
            ("status", "Status"),
            ("email", "Reply address"),
            ("messages", "Messages"),
        ],
        [msgspec.structs.asdict(r) for r in rows],
    )


async def _forget_tickets(subject: Subject) -> int:
    return sum([await forget_requester(subject.user_id, email) for email in subject.emails])


TICKETS_FILE = File(
    "my_support_tickets.csv",
    "Your support requests and every message of their threads.",
    'select t.id as "Ticket", t.subject as "Subject", t.topic as "Topic",'
    ' t.status as "Status", m.author as "From", ' + utc("m.created_at") + ' as "When (UTC)",'
    ' m.body as "Message" from support_tickets t join support_messages m on m.ticket_id = t.id'
    " where t.user_id = $1 or lower(t.email) = lower((select email from users where id = $1))"
    " order by t.id, m.id",
    (
        col("Ticket", "The ticket number."),
        col("Subject", "Its subject."),
        col("Topic", "general, account, billing, privacy, security or bug."),
        col("Status", "open, answered or closed."),
        col("From", "requester (you) or staff."),
        col("When (UTC)", "When the message was written."),
        col("Message", "Its text."),
    ),
    own_where="true",
)


def _register() -> None:
    register(
        table_place(
            "support_tickets",
            OWNER,
            ("user", "visitor"),
            "the requester's name, address, topic and subject",
            retention="while the account exists (visitors' tickets: until they ask us)",
            access="shown (Support tickets)",
            export="my_support_tickets.csv",
            erasure="not affected",
            account_deletion="deleted with their threads (by account and by address)",
            workspace_purge="members who belong nowhere else: as an account deletion",
            user_columns=("user_id",),
            text_columns=("email",),
            read=_read_tickets,
            shown=60,
            exports=(TICKETS_FILE,),
            forget_user=_forget_tickets,
        )
    )
    register(
        table_place(
            "support_messages",
            OWNER,
            ("user", "visitor"),
            "the request and staff replies",
            retention="with their ticket",
            access="counted (Support tickets); read on the ticket",
            export="my_support_tickets.csv",
            erasure="not affected",
            account_deletion="deleted with the ticket; a staff member's name is cleared",
            workspace_purge="as for tickets",
            user_columns=("staff_user_id",),
            text_columns=("body",),
        )
    )


_register()
