"""Mail delivery: drain the outbox over SMTP with aiosmtplib (at-least-once, idempotent).

A mail that fails is tried again with exponential backoff (1, 2, 4 … minutes, then hourly) for
MAIL_RETRY_HOURS (24 h); a mail the server or the mail library refuses outright (a malformed or
rejected address) fails at once. Either way it is never dropped silently: the row keeps the
reason, the admins of the workspace concerned get an in-app notification, and the operator a
log line at ERROR (and a mail to OPERATOR_EMAIL). Once a mail is sent or given up, the one-time
links in its body (verification, reset, invitation tokens) are removed from the outbox.
"""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlparse
from uuid import UUID

import aiosmtplib
import asyncpg
from piccolo.querystring import QueryString

from app.accounts.tables import Membership
from app.accounts.users import user_id_by_email
from app.core import mail_attachments as files
from app.core.db import global_transaction, tenant_transaction, user_transaction
from app.core.mail import OutboxMessage, queue_mail
from app.notifications import queries
from app.notifications.queries import OutboxMail
from app.notifications.services import notify
from app.settings import get_settings

log = logging.getLogger("odex.mail")

FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
# a one-time token in a link (?token=… / &token=…): useless to keep once the mail is out
TOKEN_IN_LINK = re.compile(r"([?&](?:token|code)=)[^\s&#\"'<>]+")
REDACTED = "[removed after sending]"
# The server is unreachable (every other mail would fail the same way): stop this sweep.
SERVER_DOWN = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    OSError,
)
OPERATOR_ALERT = "operator_alert"


def scrub_links(text: str) -> str:
    """The body without the secret part of its one-time links."""
    return TOKEN_IN_LINK.sub(lambda m: m.group(1) + REDACTED, text)


def retry_delay(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 1, 2, 4 … minutes, at most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def is_permanent(exc: BaseException) -> bool:
    """True when trying again cannot help: the server refused with a 5xx reply, or the message
    could not even be built or addressed (aiosmtplib raises ValueError, IndexError… for
    addresses such as `(@x.com`)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code >= 500
    return not isinstance(exc, (*SERVER_DOWN, aiosmtplib.SMTPException))


def _message(row: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = get_settings().mail_from
    message["To"] = row.to_addr
    message["Subject"] = row.subject
    message["X-Odex-Kind"] = row.kind
    message.set_content(row.body_text)
    for item in files.listed(row.attachments):
        maintype, _, subtype = str(item.get("type") or "application/octet-stream").partition("/")
        message.add_attachment(
            files.load(item),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=str(item.get("name") or "attachment"),
        )
    return message


class Connection:
    """One SMTP connection for a whole sweep (not one per mail: each costs a TCP, and in
    production a TLS, handshake plus EHLO and AUTH), opened at its first mail.

    After any failed mail it is dropped, so the next mail starts on a fresh connection (a
    refused or malformed mail can leave the session mid-transaction). A kept connection that the
    server has closed meanwhile (an idle timeout, a limit of mails per connection, a 421) gets
    its mail one more try on a new connection; a failure there is that mail's own.
    """

    def __init__(self) -> None:
        self._client: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        url = urlparse(get_settings().smtp_url)
        client = aiosmtplib.SMTP(
            hostname=url.hostname or "127.0.0.1",
            port=url.port or 25,
            username=url.username,
            password=url.password,
            use_tls=url.scheme == "smtps",
            start_tls=True if url.scheme == "smtp+starttls" else None,
            timeout=30,
        )
        await client.connect()  # and STARTTLS and AUTH, as the URL says
        self._client = client
        return client

    async def send(self, message: EmailMessage) -> None:
        kept = self._client if self._client is not None and self._client.is_connected else None
        try:
            await (kept or await self._connect()).send_message(message)
        except Exception:
            lost = kept is not None and not kept.is_connected
            await self.close()
            if not lost:
                raise
            try:
                await (await self._connect()).send_message(message)
            except Exception:
                await self.close()
                raise

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if client.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
        client.close()


async def deliver_outbox(ctx: dict[str, object] | None, message_id: int | None = None) -> int:
    """Send one queued mail (or every mail that is due when `message_id` is None); returns the
    number sent.

    A row is locked while it is sent and marked sent in the same transaction, so two workers
    never send it twice; a crash before commit leaves it unsent for the next run. One bad mail
    never stops the others; an unreachable server ends the sweep (the next one retries).
    """
    sent = 0
    given_up: list[tuple[OutboxMail, str]] = []
    smtp = Connection()
    try:
        while True:
            finished: list[dict[str, object]] = []  # attachments of the mail sent or given up
            async with global_transaction() as conn:
                row = await queries.lock_due_mail(conn, message_id)
                if row is None:
                    return sent
                try:
                    await smtp.send(_message(row))
                except Exception as exc:
                    final = await _record_failure(conn, row, exc)
                    if final:
                        given_up.append((row, final))
                        finished += files.listed(row.attachments)
                    if isinstance(exc, SERVER_DOWN) and not final:
                        return sent
                else:
                    await OutboxMessage.update(
                        {
                            OutboxMessage.sent_at: QueryString("now()"),
                            OutboxMessage.body_text: scrub_links(row.body_text),
                            OutboxMessage.last_error: None,
                        }
                    ).where(OutboxMessage.id == row.id)
                    sent += 1
                    finished += files.listed(row.attachments)
            files.remove(finished)  # after the commit (a crash before it: sent again, with them)
            if message_id is not None:
                return sent
    finally:
        await smtp.close()
        for mail, reason in given_up:  # after the commit: the failure is recorded whatever
            await _alert_undeliverable(mail, reason)  # happens here


async def _record_failure(conn: asyncpg.Connection, row: OutboxMail, exc: Exception) -> str | None:
    """Schedule the next attempt, or give up; returns the reason when the mail is given up."""
    reason = f"{type(exc).__name__}: {exc}"[:500]
    age = datetime.now(UTC) - row.created_at
    window = timedelta(hours=get_settings().mail_retry_hours)
    if is_permanent(exc) or age + retry_delay(row.attempts + 1) > window:
        final = reason if is_permanent(exc) else f"still failing after {window}: {reason}"
        log.warning("mail %s to %s given up: %s", row.id, row.to_addr, final)
        await queries.give_up_mail(conn, row.id, final, scrub_links(row.body_text))
        return final
    wait = retry_delay(row.attempts + 1)
    log.warning("mail %s failed (%s): next attempt in %s", row.id, reason, wait)
    await queries.retry_mail_later(conn, row.id, reason, wait)
    return None


async def _alert_undeliverable(row: OutboxMail, reason: str) -> None:
    """Tell the workspace's admins (in the app) and the operator (log + mail) about a mail that
    will not be delivered."""
    settings = get_settings()
    log.error(
        "UNDELIVERABLE mail %s (%s) to %s: %s",
        row.id,
        row.kind,
        row.to_addr,
        reason,
    )
    if row.kind == OPERATOR_ALERT:
        return  # the operator's own alert: the log line above is all that is left
    if settings.operator_email:
        async with global_transaction():
            await queue_mail(
                OPERATOR_ALERT,
                settings.operator_email,
                f"Odex could not deliver a {row.kind} mail",
                "operator_undeliverable.txt",
                message_id=row.id,
                mail_kind=row.kind,
                recipient=row.to_addr,
                reason=reason,
            )
    for tenant_id in await _workspaces_concerned(row):
        async with tenant_transaction(tenant_id):
            admins = await Membership.select(Membership.user_id).where(
                (Membership.tenant_id == tenant_id) & Membership.role.is_in(["owner", "admin"])
            )
            for admin in admins:
                await notify(
                    tenant_id,
                    admin["user_id"],
                    "mail_undeliverable",
                    f"An email to {row.to_addr} could not be delivered",
                    f"“{row.subject}” was not delivered: {reason}. Check the address;"
                    " if it is right, contact support.",
                )


async def _workspaces_concerned(row: OutboxMail) -> list[UUID]:
    """The workspace that queued the mail, else every workspace the recipient belongs to."""
    if row.workspace_id:
        return [row.workspace_id]
    user_id = await user_id_by_email(row.to_addr)
    if user_id is None:
        return []
    async with user_transaction(user_id):
        rows = await Membership.select(Membership.tenant_id).where(Membership.user_id == user_id)
    return [r["tenant_id"] for r in rows]


async def sweep_outbox(ctx: dict[str, object]) -> int:
    """Catch mail whose job was lost (enqueue failed after commit, or retries ran out)."""
    return await deliver_outbox(ctx, None)
