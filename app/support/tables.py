"""Piccolo tables of the support app (DDL lives in migrations/support)."""

from piccolo.columns import UUID, BigInt, BigSerial, Text, Timestamptz
from piccolo.table import Table


class SupportTicket(Table, tablename="support_tickets"):
    """One inquiry from a person (signed in or not) to the platform's staff."""

    id = BigSerial(primary_key=True)
    user_id = UUID(null=True, default=None)
    name = Text()
    email = Text()
    topic = Text()
    subject = Text()
    status = Text(default="open")  # open | answered | closed
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SupportMessage(Table, tablename="support_messages"):
    """A message in a ticket's thread: the request itself or a staff reply."""

    id = BigSerial(primary_key=True)
    ticket_id = BigInt()
    author = Text()  # requester | staff
    staff_user_id = UUID(null=True, default=None)
    body = Text()
    created_at = Timestamptz()
