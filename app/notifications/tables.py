"""Piccolo tables of the notifications app."""

from piccolo.columns import UUID, Text, Timestamptz
from piccolo.table import Table

from app.core.columns import Created, TenantRow


class Notification(TenantRow, Created, Table, tablename="notifications"):
    """An in-app notification for one user in one tenant."""

    user_id = UUID()
    kind = Text()
    title = Text()
    body = Text(default="")
    link = Text(null=True, default=None)
    read_at = Timestamptz(null=True, default=None)
