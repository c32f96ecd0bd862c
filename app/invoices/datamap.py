"""The code of the invoices domain's data map (app/invoices/datamap.toml): invoices and their
lines (legal records of companies), the mail that sent them."""

from __future__ import annotations

from app.core.datamap import ContactRef, Subject, Treatments, in_each_tenant
from app.invoices.queries import ERASE_SEND_ADDRESSES

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


TREATMENTS = Treatments(erase=[_erase_recipient], forget_user=[_forget_recipient])
