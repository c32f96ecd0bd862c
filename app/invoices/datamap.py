"""Where the invoices domain keeps data: invoices and their lines (legal records of companies)."""

from __future__ import annotations

from app.core.datamap import (
    ContactRef,
    Subject,
    col,
    in_each_tenant,
    register,
    tenant_table,
    utc,
)
from app.core.datamap import ExportFile as File
from app.invoices.queries import ERASE_SEND_ADDRESSES

OWNER = "invoices"
RETENTION = "until deleted by the workspace, or with it (keep invoices as long as tax law asks)"

INVOICES_FILE = File(
    "invoices.csv",
    "Invoices, with their company and deal by name.",
    'select i.number as "Number", co.name as "Company", d.title as "Deal",'
    ' i.status as "Status", i.currency as "Currency", i.issue_date as "Issued",'
    ' i.due_date as "Due", i.subtotal as "Subtotal", i.tax_total as "Tax",'
    ' i.total as "Total", i.notes as "Notes", '
    + utc("i.sent_at")
    + ' as "Sent (UTC)", '
    + utc("i.paid_at")
    + ' as "Paid (UTC)", '
    + utc("i.voided_at")
    + ' as "Voided (UTC)",'
    ' u.name as "Created by", ' + utc("i.created_at") + ' as "Created (UTC)",'
    ' i.id as "Invoice id", i.company_id as "Company id" from invoices i'
    " join companies co on co.id = i.company_id left join deals d on d.id = i.deal_id"
    " left join users u on u.id = i.created_by where {where}",
    (
        col("Number", "The invoice number (per workspace, without gaps)."),
        col("Company", "Who it is addressed to."),
        col("Deal", "The deal it bills, if any."),
        col("Status", "draft, sent, paid, overdue or void."),
        col("Currency", "ISO currency code."),
        col("Issued", "Issue date (YYYY-MM-DD)."),
        col("Due", "Due date (YYYY-MM-DD)."),
        col("Subtotal", "Sum of the lines before tax."),
        col("Tax", "Sum of the lines' tax."),
        col("Total", "Amount due."),
        col("Notes", "Text printed on the invoice."),
        col("Sent (UTC)", "When it was marked sent."),
        col("Paid (UTC)", "When it was marked paid."),
        col("Voided (UTC)", "When it was voided."),
        col("Created by", "The member who created it."),
        col("Created (UTC)", "When it was created."),
        col("Invoice id", "Odex's identifier (invoice_lines.csv refers to the number)."),
        col("Company id", "Odex's identifier of the company."),
    ),
    own_where="i.created_by = $1",
    order_by="i.number",
)

LINES_FILE = File(
    "invoice_lines.csv",
    "The lines of each invoice, in order.",
    'select i.number as "Invoice number", l.position as "Line", l.description as'
    ' "Description", l.quantity as "Quantity", l.unit_price as "Unit price",'
    ' l.tax_rate as "Tax rate (%)", l.net_amount as "Net amount" from invoice_lines l'
    " join invoices i on i.id = l.invoice_id where {where}",
    (
        col("Invoice number", "The invoice (see invoices.csv)."),
        col("Line", "Its position on the invoice."),
        col("Description", "What is billed."),
        col("Quantity", "How many."),
        col("Unit price", "Price of one, before tax."),
        col("Tax rate (%)", "The line's tax rate in percent."),
        col("Net amount", "Quantity times unit price."),
    ),
    own_where="i.created_by = $1",
    order_by="i.number, l.position",
)


SENDS_FILE = File(
    "invoice_sends.csv",
    "Each time an invoice was emailed to the customer.",
    'select i.number as "Invoice number", ' + utc("s.created_at") + ' as "Sent (UTC)",'
    ' u.name as "Sent by", s.to_addr as "To", s.subject as "Subject" from invoice_sends s'
    " join invoices i on i.id = s.invoice_id left join users u on u.id = s.sent_by"
    " where {where}",
    (
        col("Invoice number", "The invoice (see invoices.csv)."),
        col("Sent (UTC)", "When it was emailed."),
        col("Sent by", "The member who sent it."),
        col("To", "The address it was sent to."),
        col("Subject", "The mail's subject."),
    ),
    own_where="s.sent_by = $1",
    order_by="i.number, s.created_at",
)
ERASED = "[erased]"


async def _erase_recipient(contact: ContactRef) -> int:
    """Sends to the contact's addresses keep when and what; the address becomes [erased]."""
    emails = [e.lower() for e in contact.emails]
    if not emails:
        return 0
    return await in_each_tenant((contact.tenant_id,), ERASE_SEND_ADDRESSES, emails, ERASED)


async def _forget_recipient(subject: Subject) -> int:
    emails = [e.lower() for e in subject.emails]
    if not emails:
        return 0
    return await in_each_tenant(subject.tenant_ids, ERASE_SEND_ADDRESSES, emails, ERASED)


def _register() -> None:
    common = {
        "retention": RETENTION,
        "access": "not in My data (the workspace's record)",
        "erasure": "not affected: invoices name companies, not people, and stay legal records",
        "workspace_purge": "deleted",
    }
    register(
        tenant_table(
            "invoice_counters",
            OWNER,
            ("workspace",),
            "no personal data: the last invoice number",
            account_deletion="not affected",
            **common,
        )
    )
    register(
        tenant_table(
            "invoices",
            OWNER,
            ("workspace",),
            "the company billed, amounts, notes, who created it",
            export="invoices.csv (admins: all; members: the ones they created)",
            account_deletion="the creator is cleared",
            user_columns=("created_by",),
            exports=(INVOICES_FILE,),
            **common,
        )
    )
    register(
        tenant_table(
            "invoice_lines",
            OWNER,
            ("workspace",),
            "what was billed, quantities, prices",
            export="invoice_lines.csv",
            account_deletion="not affected",
            exports=(LINES_FILE,),
            **common,
        )
    )
    register(
        tenant_table(
            "invoice_sends",
            OWNER,
            ("workspace", "contact", "user"),
            "each email of an invoice: the recipient's address, the subject, who sent it",
            retention=RETENTION,
            access="not in My data (the workspace's record)",
            export="invoice_sends.csv (admins: all; members: the ones they sent)",
            erasure="the contact's address in sends to them becomes [erased]",
            account_deletion="the sender is cleared; the person's addresses as recipient"
            " become [erased]",
            user_columns=("sent_by",),
            text_columns=("to_addr",),
            exports=(SENDS_FILE,),
            erase=_erase_recipient,
            forget_user=_forget_recipient,
        )
    )


_register()
