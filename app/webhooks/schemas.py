"""The events a subscription can choose, the JSON shape of a delivery's body (msgspec, stable:
fields are only ever added), and the signature over it."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from app.crm.published import CompanyRecord, ContactRecord
from app.deals.published import DealHead
from app.invoices.published import InvoiceTerms

# event -> what the settings page calls it
EVENTS: dict[str, str] = {
    "contact.created": "Contact created",
    "contact.updated": "Contact updated",
    "contact.deleted": "Contact deleted",
    "company.created": "Company created",
    "company.updated": "Company updated",
    "company.deleted": "Company deleted",
    "deal.created": "Deal created",
    "deal.updated": "Deal updated",
    "deal.deleted": "Deal deleted",
    "deal.moved": "Deal moved to another stage",
    "invoice.paid": "Invoice paid",
    "member.joined": "Member joined the workspace",
}

SIGNATURE_HEADER = "Odex-Signature"
EVENT_HEADER = "Odex-Event"
DELIVERY_HEADER = "Odex-Delivery"


def event_name(subject_type: str, action: str, changes: dict[str, dict[str, object]]) -> str | None:
    """The webhook event a timeline entry is, or None (notes, tasks, other statuses...)."""
    if subject_type == "invoice":
        paid = action == "status" and changes.get("status", {}).get("to") == "paid"
        return "invoice.paid" if paid else None
    name = f"{subject_type}.{action}"
    return name if name in EVENTS else None


# A field typed `... | UnsetType = UNSET` is left out of the body when the subscription's scopes
# don't allow it (app/webhooks/scopes.py): personal data, a deal's contacts.


class ContactData(ContactRecord, frozen=True, kw_only=True, tag="contact", tag_field="object"):
    pass


class CompanyData(CompanyRecord, frozen=True, tag="company", tag_field="object"):
    pass


class DealContact(msgspec.Struct, kw_only=True):
    """A contact of a deal, inside the deal's data (with the contacts:read scope only)."""

    id: UUID
    first_name: str
    last_name: str
    emails: list[str] | UnsetType = UNSET  # personal data
    phones: list[str] | UnsetType = UNSET  # personal data


class DealData(DealHead, frozen=True, kw_only=True, tag="deal", tag_field="object"):
    stage_name: str
    expected_close_date: date | None
    owner_id: UUID | None
    company_id: UUID | None
    lost_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    contacts: list[DealContact] | UnsetType = UNSET  # with the contacts:read scope


class InvoiceData(InvoiceTerms[int], tag="invoice", tag_field="object", kw_only=True):
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    paid_at: datetime | None
    version: int


class MemberData(msgspec.Struct, tag="member", tag_field="object"):
    user_id: UUID
    role: str


Data = ContactData | CompanyData | DealData | InvoiceData | MemberData


class EventBody(msgspec.Struct):
    """The JSON body of every delivery. `data` is the object as it was right after the event
    (None once deleted); `changed` names the fields an update changed."""

    id: UUID  # the event's id: the same in every subscription's delivery of it
    type: str  # one of EVENTS
    created_at: datetime
    workspace_id: UUID
    actor_id: UUID | None
    object: str  # contact | company | deal | invoice | member
    object_id: UUID
    data: Data | None
    changed: list[str]


def encode_body(body: EventBody) -> bytes:
    return msgspec.json.encode(body)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 (hex) of `"<timestamp>.<body>"` with the subscription's secret."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes, previous: str | None = None) -> str:
    """The Odex-Signature header: `t=<unix seconds>,v1=<hex>`; while a rotation's overlap
    lasts, a second `v1` signed with the replaced secret follows (as Stripe does)."""
    header = f"t={timestamp},v1={signature(secret, timestamp, body)}"
    if previous is not None:
        header += f",v1={signature(previous, timestamp, body)}"
    return header


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (the README shows it): one of the header's v1 values matches and
    t is recent."""
    pairs = [part.split("=", 1) for part in header.split(",") if "=" in part]
    try:
        timestamp = int(next((v for k, v in pairs if k == "t"), ""))
    except ValueError:
        return False
    expected = signature(secret, timestamp, body).encode()
    matched = False
    for key, value in pairs:  # every one is compared: the time doesn't say which matched
        if key == "v1":
            matched |= hmac.compare_digest(expected, value.encode())
    return abs(now - timestamp) <= tolerance and matched
