"""What the notification pages accept: the feed's page cursor."""

from __future__ import annotations

from typing import Annotated

from app.core.forms import Cursor, Form


class FeedQuery(Form):
    """`/notifications?before=…` (a malformed cursor shows the newest page)."""

    before: Annotated[str, Cursor()] = ""
