"""Likely duplicate contacts: the ones a new contact probably repeats (same email or phone,
matched through their blind indexes, or the same normalised name at the same company), and the
workspace's likely pairs for the review list. Emails and phones are never compared in clear:
only their blind indexes (app/crm/secure.py) are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

import asyncpg
import msgspec

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid
from app.core.forms import Flag, Form, Integer
from app.core.rows import fetch_as, fetch_value
from app.crm import contacts
from app.crm.contact_keys import has_key
from app.crm.schemas import ContactForm
from app.crm.secure import email_indexes, phone_indexes

PAGE_SIZE = 50
MATCHES_SHOWN = 10
# a contact's name as duplicates compare it: lower case, single spaces, trimmed
NORMAL_NAME = (
    "regexp_replace(lower(btrim({0}.first_name || ' ' || {0}.last_name)), '\\s+', ' ', 'g')"
)
DUPLICATE_MESSAGE = "This looks like a contact you already have."


class NewContact(ContactForm):
    """The new-contact form: "Create anyway" sends create_anyway after the duplicate warning."""

    create_anyway: Annotated[bool, Flag("create anyway")] = False


class DuplicatesQuery(Form):
    """`/contacts/duplicates?page=…` (and `/companies/duplicates`)."""

    page: Annotated[int | None, Integer("the page", 1, 10_000, lenient=True)] = None


class Match(msgspec.Struct, frozen=True):
    """An existing contact a new one probably repeats."""

    id: UUID
    first_name: str
    last_name: str
    company: str | None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def detail(self) -> str | None:
        return self.company


class Pair(msgspec.Struct, frozen=True):
    """Two records of the workspace that are probably the same, and why."""

    first_id: UUID
    first_name: str
    second_id: UUID
    second_name: str
    reason: str  # email | phone | name (contacts), domain | name (companies)


def normal_name(first: str, last: str) -> str:
    """The Python twin of NORMAL_NAME."""
    return " ".join(f"{first} {last}".lower().split())


async def matching_contacts(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    emails: list[str],
    phones: list[str],
    name: str,
    company_id: UUID | None,
) -> list[Match]:
    """The workspace's contacts sharing an email or phone (by blind index), or the normalised
    name at the same company."""
    return await fetch_as(
        conn,
        Match,
        "select c.id, c.first_name, c.last_name, co.name as company from contacts c"
        " left join companies co on co.id = c.company_id"
        " where c.tenant_id = $1 and ("
        f"  {has_key('c', '$1', '$2', ('contact_email_keys',))}"
        f"  or {has_key('c', '$1', '$3', ('contact_phone_keys',))}"
        f"  or ($4 <> '' and c.company_id = $5 and {NORMAL_NAME.format('c')} = $4))"
        " order by c.sort_last, c.sort_first, c.id limit $6",
        tenant_id,
        email_indexes(emails),
        phone_indexes(phones),
        name,
        company_id,
        MATCHES_SHOWN,
    )


# every key a contact can share with another: each email's and phone's blind index, and its
# normalised name at its company
_KEYS = (
    "with keys as ("
    " select contact_id as id, 'email' as reason, key as k from contact_email_keys"
    " where tenant_id = $1"
    " union all"
    " select contact_id, 'phone', key from contact_phone_keys where tenant_id = $1"
    " union all"
    f" select c.id, 'name', c.company_id::text || ':' || {NORMAL_NAME.format('c')}"
    " from contacts c where c.tenant_id = $1 and c.company_id is not null),"
    " pairs as ("
    " select a.id as first_id, b.id as second_id, min(a.reason) as reason"
    " from keys a join keys b on a.reason = b.reason and a.k = b.k and a.id < b.id"
    " group by a.id, b.id)"
)


_PAIRS_PAGE = (
    _KEYS + " select p.first_id, btrim(a.first_name || ' ' || a.last_name) as first_name,"
    " p.second_id, btrim(b.first_name || ' ' || b.last_name) as second_name, p.reason"
    " from pairs p join contacts a on a.id = p.first_id join contacts b on b.id = p.second_id"
    " order by a.sort_last, a.sort_first, p.first_id, p.second_id limit $2 offset $3"
)


async def duplicate_pairs(conn: asyncpg.Connection, tenant_id: UUID, page: int) -> list[Pair]:
    """The `page`th page of the workspace's likely duplicate pairs, by the first one's name."""
    offset = (page - 1) * PAGE_SIZE
    return await fetch_as(conn, Pair, _PAIRS_PAGE, tenant_id, PAGE_SIZE, offset)


async def count_pairs(conn: asyncpg.Connection, tenant_id: UUID) -> int:
    return await fetch_value(conn, int, _KEYS + " select count(*) from pairs", tenant_id)


class LikelyDuplicate(FormInvalid):
    """The new record probably exists already: the form again with links to the matches and
    a "Create anyway" button."""

    def __init__(self, matches: Sequence[msgspec.Struct], message: str = DUPLICATE_MESSAGE) -> None:
        super().__init__({"form": message})
        self.matches = matches

    def shown(self) -> dict[str, object]:
        return {**super().shown(), "duplicates": self.matches}


async def find_duplicates(current: Current, form: ContactForm) -> list[Match]:
    name = normal_name(form.first_name, form.last_name)
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        return await matching_contacts(
            c, current.tenant_id, form.emails, form.phones, name, form.company_id
        )


async def create_unless_duplicate(current: Current, form: NewContact) -> UUID:
    """Create the contact, unless it probably exists and "Create anyway" wasn't pressed."""
    if not form.create_anyway and (matches := await find_duplicates(current, form)):
        raise LikelyDuplicate(matches)
    return await contacts.create_contact(current, form)


async def pairs_page(current: Current, page: int) -> tuple[list[Pair], int]:
    """The `page`th page of likely pairs, and how many pairs there are."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        total = await count_pairs(c, current.tenant_id)
        rows = await duplicate_pairs(c, current.tenant_id, page)
    return rows, total
