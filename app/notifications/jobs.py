"""Mail delivery: drain the outbox over SMTP with aiosmtplib (at-least-once, idempotent)."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

import aiosmtplib

from app.core.db import global_transaction
from app.notifications.tables import OutboxMessage
from app.settings import get_settings

log = logging.getLogger("odex.mail")
MAX_ATTEMPTS = 8


async def _send(row: dict[str, Any]) -> None:
    settings = get_settings()
    url = urlparse(settings.smtp_url)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row["to_addr"]
    message["Subject"] = row["subject"]
    message["X-Odex-Kind"] = row["kind"]
    message.set_content(row["body_text"])
    await aiosmtplib.send(
        message,
        hostname=url.hostname or "127.0.0.1",
        port=url.port or 25,
        username=url.username,
        password=url.password,
        use_tls=url.scheme == "smtps",
        start_tls=True if url.scheme == "smtp+starttls" else None,
        timeout=30,
    )


async def deliver_outbox(ctx: dict[str, Any], message_id: int | None = None) -> int:
    """Send one queued mail (or every unsent one when `message_id` is None); returns sent count.

    A row is locked while it is sent and marked sent in the same transaction, so two workers
    never send it twice; a crash before commit leaves it unsent for the next run.
    """
    sent = 0
    while True:
        async with global_transaction() as conn:
            query = (
                "select * from outbox where sent_at is null and attempts < $1 "
                + ("and id = $2 " if message_id is not None else "")
                + "order by id limit 1 for update skip locked"
            )
            args: list[Any] = [MAX_ATTEMPTS] + ([message_id] if message_id is not None else [])
            row = await conn.fetchrow(query, *args)
            if row is None:
                return sent
            try:
                await _send(dict(row))
            except (aiosmtplib.SMTPException, OSError) as exc:
                log.warning("mail %s failed: %s", row["id"], exc)
                await OutboxMessage.update(
                    {
                        OutboxMessage.attempts: OutboxMessage.attempts + 1,
                        OutboxMessage.last_error: str(exc)[:500],
                    }
                ).where(OutboxMessage.id == row["id"])
                return sent
            await conn.execute("update outbox set sent_at = now() where id = $1", row["id"])
            sent += 1
        if message_id is not None:
            return sent
