"""Piccolo tables of the notifications app."""

from piccolo.columns import UUID, Text, Timestamptz
from piccolo.table import Table


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
