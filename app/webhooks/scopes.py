"""What a webhook subscription may read, and the bodies cut to it.

Each subscription has read scopes per object in the API tokens' words (`contacts:read`,
`companies:read`, `deals:read`, `invoices:read`; app/api/tokens.py) plus `members:read` for
`member.joined` (the API has no members object), and a personal-data choice. An event whose
object is outside the scopes can't be chosen and is never delivered; inside, the body is cut
when the delivery is written (in the change's transaction), so a stored delivery never holds
what the scopes forbid:

- without personal data, a contact's `emails` and `phones` (the fields the CRM keeps
  encrypted, app.crm.secure.SENSITIVE) are left out, in a contact's data and in a deal's
  contacts;
- without `contacts:read`, a deal's data has no `contacts`.

Ids of related records (`company_id`, `owner_id`, `deal_id`) are references and stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

import msgspec
from msgspec import UNSET

from app.crm.secure import SENSITIVE
from app.webhooks.schemas import EVENTS, ContactData, Data, DealContact, DealData, EventBody

# scope -> what the settings page calls it; the objects of EVENTS, in the tokens' vocabulary
SCOPES: dict[str, str] = {
    "contacts:read": "Contacts",
    "companies:read": "Companies",
    "deals:read": "Deals",
    "invoices:read": "Invoices",
    "members:read": "Members",
}
# an event's object ("contact" of "contact.created") -> the scope that lets it through
OBJECT_SCOPE: dict[str, str] = {
    "contact": "contacts:read",
    "company": "companies:read",
    "deal": "deals:read",
    "invoice": "invoices:read",
    "member": "members:read",
}
CONTACTS = "contacts:read"
# contact fields sent only with personal data: the ones the CRM keeps encrypted
PERSONAL: tuple[str, ...] = SENSITIVE
PERSONAL_LABEL = "email addresses and phone numbers"
P = TypeVar("P", ContactData, DealContact)


def scope_of(event: str) -> str:
    """The read scope an event needs (`deal.moved` -> `deals:read`; "" for no known event)."""
    return OBJECT_SCOPE.get(event.split(".", 1)[0], "")


def scopes_for(events: Iterable[str]) -> list[str]:
    """The scopes that let exactly these events through (in SCOPES' order)."""
    needed = {scope_of(e) for e in events}
    return [s for s in SCOPES if s in needed]


def outside(events: Iterable[str], scopes: Sequence[str]) -> list[str]:
    """The events whose object the scopes don't reach."""
    return [e for e in events if scope_of(e) not in scopes]


def refusal(events: Iterable[str], scopes: Sequence[str]) -> str | None:
    """Why these events can't be chosen with these scopes (for the form), or None."""
    missing = outside(events, scopes)
    if not missing:
        return None
    names = ", ".join(EVENTS[e] for e in missing)
    tick = ", ".join(SCOPES[s] for s in scopes_for(missing))
    return (
        f"{names}: this webhook may not read that. Tick {tick} under “May read”,"
        " or untick those events."
    )


def _without_personal(item: P) -> P:
    return msgspec.structs.replace(item, **dict.fromkeys(PERSONAL, UNSET))


def cut(data: Data | None, scopes: Sequence[str], personal: bool) -> Data | None:
    """`data` with only what the scopes allow (a copy; the shared one is left alone)."""
    if isinstance(data, ContactData) and not personal:
        return _without_personal(data)
    if isinstance(data, DealData) and data.contacts is not UNSET:
        if CONTACTS not in scopes:
            return msgspec.structs.replace(data, contacts=UNSET)
        if not personal:
            return msgspec.structs.replace(
                data, contacts=[_without_personal(c) for c in data.contacts]
            )
    return data


def cut_body(body: EventBody, scopes: Sequence[str], personal: bool) -> EventBody:
    return msgspec.structs.replace(body, data=cut(body.data, scopes, personal))
