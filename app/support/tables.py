"""Piccolo tables of the support app (DDL lives in migrations/support)."""

from piccolo.columns import UUID, BigInt, BigSerial, Text
from piccolo.table import Table

from app.core.columns import Created, Stamped


class SupportTicket(Stamped, Table, tablename="support_tickets"):
    """One inquiry from a person (signed in or not) to the platform's staff."""

    id = BigSerial(primary_key=True)
    user_id = UUID(null=True, default=None)
    name = Text()
    email = Text()
    topic = Text()
    subject = Text()
    status = Text(default="open")  # open | answered | closed


class SupportMessage(Created, Table, tablename="support_messages"):
    """A message in a ticket's thread: the request itself or a staff reply."""

    id = BigSerial(primary_key=True)
    ticket_id = BigInt()
    author = Text()  # requester | staff
    staff_user_id = UUID(null=True, default=None)
    body = Text()
