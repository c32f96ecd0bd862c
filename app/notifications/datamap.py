"""Where the notifications domain keeps personal data: the in-app feed and the mail outbox."""

from __future__ import annotations

from datetime import timedelta

from app.core import mail_attachments as attachments
from app.core.datamap import (
    ContactRef,
    Place,
    Section,
    Subject,
    Viewer,
    col,
    like_any,
    register,
    table_place,
    tenant_table,
    time_page,
    utc,
)
from app.core.datamap import ExportFile as File
from app.core.db import global_transaction, tenant_transaction
from app.notifications import queries

OWNER = "notifications"


async def _read_feed(viewer: Viewer, after: str | None, limit: int) -> Section:
    page, total, next_after = await time_page(
        viewer.tenant_id,
        "notifications",
        "title, body, read_at",
        "user_id = $1",
        viewer.user_id,
        after,
        limit,
    )
    return Section(
        "Notifications (this workspace)",
        [("created_at", "When"), ("title", "Notification"), ("read_at", "Read")],
        page,
        total,
        next_after,
    )


async def _erase_feed(contact: ContactRef) -> int:
    """Notifications about the contact (linking to the record or naming them) go."""
    needles = [contact.full_name, *contact.emails] if contact.full_name else [*contact.emails]
    async with tenant_transaction(contact.tenant_id) as conn:
        return await queries.delete_notifications_about(
            conn, f"/contacts/{contact.contact_id}", like_any([n for n in needles if n])
        )


FEED_FILE = File(
    "my_notifications.csv",
    "Your in-app notifications in this workspace.",
    f'select {utc("created_at")} as "When (UTC)", kind as "Kind", title as "Title",'
    f' body as "Text", link as "Link", {utc("read_at")} as "Read (UTC)" from notifications'
    " where user_id = $1 order by created_at",
    (
        col("When (UTC)", "When it was sent."),
        col("Kind", "mention, task_assigned, export, billing…"),
        col("Title", "What the bell showed."),
        col("Text", "Its text."),
        col("Link", "The page it pointed to."),
        col("Read (UTC)", "When you read it (empty: unread)."),
    ),
    own_where="true",
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


def _register() -> None:
    register(
        tenant_table(
            "notifications",
            OWNER,
            ("user", "contact"),
            "in-app notifications: title and text (they name records and people), link",
            retention="while the account and the workspace exist",
            access="shown (Notifications), paginated",
            export="my_notifications.csv",
            erasure="notifications linking to or naming the contact are deleted",
            account_deletion="deleted (cascade from the account)",
            user_columns=("user_id",),
            text_columns=("title", "body"),
            read=_read_feed,
            shown=31,
            exports=(FEED_FILE,),
            erase=_erase_feed,
        )
    )
    register(
        table_place(
            "outbox",
            OWNER,
            ("user",),
            "service mail: recipient address, subject, body (names, alert summaries, links),"
            " the names of its attachments (an invoice's PDF to a customer)",
            retention="until sent; sent mail OUTBOX_KEEP_DAYS (30) days (raw token links are"
            " scrubbed from bodies once sent), then deleted by a daily job",
            access="not shown (the mail itself reached you)",
            export="not exported",
            erasure="mail the workspace sent to the contact's addresses (an emailed invoice) is"
            " delivered if waiting, then deleted",
            account_deletion="mail to or mentioning the person is delivered if waiting, then"
            " deleted; the deletion's confirmation is deleted once sent",
            workspace_purge="members who belong nowhere else: as an account deletion",
            kind="mail",
            text_columns=("to_addr", "body_text"),
            forget_user=_forget_mail,
            erase=_erase_mail,
            expire=_expire_mail,
            order=950,
        )
    )
    register(
        Place(
            "file:mail_attachments",
            "file",
            OWNER,
            ("workspace",),
            "files attached to waiting mail: invoice PDFs (the seller's and the billed"
            " company's names and addresses, amounts)",
            retention="until the mail is sent or given up (then deleted at once); a file no"
            " waiting mail lists is deleted by the daily job after a day",
            access="not shown (the mail itself reached the customer)",
            export="not exported (the invoice's PDF can be downloaded from the invoice)",
            erasure="not affected (invoices name companies, not people)",
            account_deletion="not affected (the workspace's invoices); mail to the person is"
            " delivered first, which deletes its files",
            workspace_purge="the workspace's folder is deleted",
            pattern="mail_attachments/*/*",
            purge=attachments.purge_workspace,
            scan=lambda subject: attachments.scan_workspace(subject.workspace_id),
            expire=attachments.expire_orphans,
            order=951,
        )
    )


_register()
