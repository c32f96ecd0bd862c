"""Piccolo tables of the notifications app."""

from piccolo.columns import JSONB, UUID, BigSerial, Integer, Text, Timestamptz
from piccolo.table import Table


class OutboxMessage(Table, tablename="outbox"):
    """A service mail waiting for (or done with) delivery."""

    id = BigSerial(primary_key=True)
    kind = Text()
    to_addr = Text()
    subject = Text()
    body_text = Text()
    body_html = Text(null=True, default=None)
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    last_error = Text(null=True, default=None)
    next_attempt_at = Timestamptz(null=True, default=None)
    failed_at = Timestamptz(null=True, default=None)
    workspace_id = UUID(null=True, default=None)
    attachments = JSONB(default="[]")  # [{"name", "type", "path", "size"}] under the data dir


class Notification(Table, tablename="notifications"):
    """An in-app notification for one user in one tenant."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    user_id = UUID()
    kind = Text()
    title = Text()
    body = Text(default="")
    link = Text(null=True, default=None)
    read_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
