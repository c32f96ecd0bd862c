"""Service mail through the outbox: written in the caller's transaction, sent after commit.

Every domain mails (sign-up, invitations, alerts, exports), accounts among them, so the
outbox's writing side lives in core; delivery, retries and the sweep are app.notifications.jobs.
"""

from __future__ import annotations

import json
import logging

from piccolo.columns import JSONB, UUID, BigSerial, Integer, Text, Timestamptz
from piccolo.table import Table

from app.core import mail_attachments as files
from app.core.availability import BACKEND_DOWN
from app.core.columns import Created
from app.core.db import after_commit, current_scope
from app.core.redis import queue
from app.core.templating import render_html

MAIL_JOB = "deliver_outbox"
log = logging.getLogger("odex.mail")


class OutboxMessage(Created, Table, tablename="outbox"):
    """A service mail waiting for (or done with) delivery."""

    id = BigSerial(primary_key=True)
    kind = Text()
    to_addr = Text()
    subject = Text()
    body_text = Text()
    body_html = Text(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    last_error = Text(null=True, default=None)
    next_attempt_at = Timestamptz(null=True, default=None)
    failed_at = Timestamptz(null=True, default=None)
    workspace_id = UUID(null=True, default=None)
    attachments = JSONB(default="[]")  # [{"name", "type", "path", "size"}] under the data dir


async def queue_mail(
    kind: str,
    to_addr: str,
    subject: str,
    template: str,
    *,
    attachments: list[files.Attachment] | None = None,
    **ctx: object,
) -> int:
    """Write a mail into the outbox (inside the caller's transaction); send after commit.

    The body comes from a plain-text template in templates/mail/; `attachments` are kept under
    the data directory until the mail is sent (app/core/mail_attachments.py).
    """
    body = render_html(f"mail/{template}", ctx).strip() + "\n"
    scope = current_scope()
    workspace = scope[0] if scope else None  # its admins hear if the mail can't be delivered
    stored = files.store(workspace, attachments) if attachments else []
    rows = await OutboxMessage.insert(
        OutboxMessage(
            kind=kind,
            to_addr=to_addr,
            subject=subject,
            body_text=body,
            workspace_id=workspace,
            attachments=json.dumps(stored),
        )
    ).returning(OutboxMessage.id)
    message_id = int(rows[0]["id"])

    async def enqueue() -> None:
        try:
            await queue().enqueue_job(MAIL_JOB, message_id, _job_id=f"mail:{message_id}")
        except BACKEND_DOWN as exc:  # the mail is committed: the minutely sweep sends it
            log.warning("mail %s queued for the sweep (%s)", message_id, exc)

    after_commit(enqueue)
    return message_id
