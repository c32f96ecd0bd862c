"""The code of support's data map (app/support/datamap.toml): tickets and their threads (between
a person and staff)."""

from __future__ import annotations

import msgspec

from app.core.datamap import Section, Subject, Treatments, Viewer
from app.core.db import global_transaction
from app.support import queries
from app.support.services import forget_requester


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


TREATMENTS = Treatments(read=[_read_tickets], forget_user=[_forget_tickets])
