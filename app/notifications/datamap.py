"""The code of the notifications domain's data map (app/notifications/datamap.toml): the in-app
feed, the mail outbox and its attachments."""

from __future__ import annotations

from datetime import timedelta

from app.core import mail_attachments as attachments
from app.core.datamap import ContactRef, Subject, Treatments, like_any
from app.core.db import global_transaction, tenant_transaction
from app.notifications import queries


async def _erase_feed(contact: ContactRef) -> int:
    """Notifications about the contact (linking to the record or naming them) go."""
    needles = [contact.full_name, *contact.emails] if contact.full_name else [*contact.emails]
    async with tenant_transaction(contact.tenant_id) as conn:
        return await queries.delete_notifications_about(
            conn, f"/contacts/{contact.contact_id}", like_any([n for n in needles if n])
        )


async def _forget_mail(subject: Subject) -> int:
    """Mail to or about the person: delivered first if still waiting (one attempt), then
    deleted from the outbox (the copy the recipient got is theirs)."""
    from app.notifications.jobs import deliver_outbox

    patterns = like_any(subject.needles)
    emails = [e.lower() for e in subject.emails]
    async with global_transaction() as conn:
        waiting = await queries.unsent_mail_to_person(conn, emails, patterns)
    for message_id in waiting:
        await deliver_outbox({}, message_id)
    async with global_transaction() as conn:
        return await queries.delete_mail_to_person(conn, emails, patterns)


async def _erase_mail(contact: ContactRef) -> int:
    """Mail the workspace sent to the contact's addresses (an emailed invoice): delivered first
    if still waiting (one attempt), then deleted from the outbox."""
    from app.notifications.jobs import deliver_outbox

    emails = [e.lower() for e in contact.emails if e]
    if not emails:
        return 0
    async with global_transaction() as conn:
        waiting = await queries.waiting_mail_to_contact(conn, contact.tenant_id, emails)
    for message_id in waiting:
        await deliver_outbox({}, message_id)
    async with global_transaction() as conn:
        return await queries.delete_mail_to_contact(conn, contact.tenant_id, emails)


async def _expire_mail() -> int:
    """Sent mail older than OUTBOX_KEEP_DAYS; a deletion's confirmation once it is sent."""
    from app.settings import get_settings

    async with global_transaction() as conn:
        return await queries.delete_expired_mail(
            conn, timedelta(days=get_settings().outbox_keep_days)
        )


async def _scan_attachments(subject: Subject) -> list[str]:
    return await attachments.scan_workspace(subject.workspace_id)


TREATMENTS = Treatments(
    erase=[_erase_feed, _erase_mail],
    forget_user=[_forget_mail],
    purge=[attachments.purge_workspace],
    scan=[_scan_attachments],
    expire=[_expire_mail, attachments.expire_orphans],
)
