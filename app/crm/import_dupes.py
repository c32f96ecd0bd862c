"""A CSV import's rows of records the workspace already has: a contact row whose email address
a contact has (matched by blind index, never in clear), a company row whose web domain or name
(legal forms and punctuation aside: the `domain_key` / `name_key` columns) a company has. They
are updated into that record, skipped, or created as duplicates, as the mapping step chose
(crm_imports.on_duplicate); two rows of one file naming the same record make one. Call inside
the import batch's tenant transaction.

The rows arrive as the import's dicts; each kind reads them as a typed Struct here and writes
a folded row back as the dict the insert takes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import fetch_as
from app.crm.activity import record_activity
from app.crm.import_queries import OLDEST_CONTACT_BY_EMAIL_KEY
from app.crm.merge import union
from app.crm.secure import email_indexes, open_contact, seal_contact

ON_DUPLICATE = ("update", "skip", "create")


def duplicate_choices(update: str) -> tuple[tuple[str, str], ...]:
    """An import kind's choices for rows of records already there, `update` saying what
    updating does (skipping and creating read the same for every kind)."""
    return tuple(zip(ON_DUPLICATE, (update, "Skip", "Create duplicates"), strict=True))


Row = dict[str, object]  # a validated row, as the import job inserts it
Rows = tuple[list[Row], list[tuple[int, list[str]]]]


class ImportedContact(msgspec.Struct):
    """What a contact row brings that an update or a fold keeps."""

    first_name: str = ""
    last_name: str = ""
    title: str | None = None
    emails: list[str] = []
    phones: list[str] = []
    tags: list[str] = []

    def fold(self, later: ImportedContact) -> ImportedContact:
        """This row with a later row of the same person: its values win where it has them."""
        return ImportedContact(
            later.first_name or self.first_name,
            later.last_name or self.last_name,
            later.title or self.title,
            union(self.emails, later.emails),
            union(self.phones, later.phones),
            union(self.tags, later.tags),
        )


class ImportedCompany(msgspec.Struct):
    """What a company row brings that an update or a fold keeps."""

    name: str
    domain: str | None = None
    industry: str | None = None
    size: str | None = None
    address: str | None = None

    def fold(self, later: ImportedCompany) -> ImportedCompany:
        return ImportedCompany(
            later.name or self.name,
            later.domain or self.domain,
            later.industry or self.industry,
            later.size or self.size,
            later.address or self.address,
        )


class KnownContact(msgspec.Struct, frozen=True):
    key: str
    id: UUID


class KnownCompany(msgspec.Struct, frozen=True):
    id: UUID
    domain_key: str | None
    name_key: str | None

    @property
    def keys(self) -> list[str]:
        return _company_keys(self.domain_key, self.name_key)


class CompanyKeys(msgspec.Struct, frozen=True):
    domain_key: str | None
    name_key: str | None


def _company_keys(domain_key: str | None, name_key: str | None) -> list[str]:
    """A company's keys, the domain's first (it decides when a row matches two companies)."""
    return [k for k in (domain_key and f"d:{domain_key}", name_key and f"n:{name_key}") if k]


async def _contact_keys(c: asyncpg.Connection, rows: list[ImportedContact]) -> list[list[str]]:
    return [email_indexes(r.emails) for r in rows]


async def _known_contacts(
    c: asyncpg.Connection, tenant_id: UUID, keys: list[str]
) -> dict[str, UUID]:
    """The oldest contact having each known key."""
    known = await fetch_as(c, KnownContact, OLDEST_CONTACT_BY_EMAIL_KEY, tenant_id, keys)
    return {k.key: k.id for k in known}


async def _update_contact(
    c: asyncpg.Connection, tenant_id: UUID, contact_id: UUID, row: ImportedContact
) -> bool:
    """The row's values into the contact: names and title when the row has them, emails,
    phones and tags added to the contact's."""
    stored = await c.fetchrow("select * from contacts where id = $1 for update", contact_id)
    if stored is None:
        return False
    opened = open_contact(stored)
    old = msgspec.convert(opened, ImportedContact)
    new = old.fold(row)
    await c.execute(
        "update contacts set first_name = $2, last_name = $3, title = $4, emails_enc = $5,"
        " emails_bidx = $6, phones_enc = $7, phones_bidx = $8, tags = $9,"
        " version = version + 1, updated_at = now() where id = $1",
        contact_id,
        new.first_name,
        new.last_name,
        new.title,
        *seal_contact(new.emails, new.phones, tenant_id, contact_id),
        new.tags,
    )
    return True


async def _company_keys_of(c: asyncpg.Connection, rows: list[ImportedCompany]) -> list[list[str]]:
    """Each row's keys, computed by the functions the generated columns use."""
    found = await fetch_as(
        c,
        CompanyKeys,
        "select company_domain_key(d) as domain_key, company_name_key(n) as name_key"
        " from unnest($1::text[], $2::text[]) with ordinality as u(n, d, i) order by i",
        [r.name for r in rows],
        [r.domain or "" for r in rows],
    )
    return [_company_keys(k.domain_key, k.name_key) for k in found]


async def _known_companies(
    c: asyncpg.Connection, tenant_id: UUID, keys: list[str]
) -> dict[str, UUID]:
    """By key, the company having it (equality on the indexed keys: usable under RLS)."""
    known = await fetch_as(
        c,
        KnownCompany,
        "select id, domain_key, name_key from companies where tenant_id = $1"
        " and (domain_key = any($2::text[]) or name_key = any($3::text[]))"
        " order by created_at desc, id desc",
        tenant_id,
        [k[2:] for k in keys if k.startswith("d:")],
        [k[2:] for k in keys if k.startswith("n:")],
    )
    return {key: k.id for k in known for key in k.keys}  # the oldest company wins


async def _update_company(
    c: asyncpg.Connection, tenant_id: UUID, company_id: UUID, row: ImportedCompany
) -> bool:
    """The row's values into the company where the row has them."""
    status = await c.execute(
        "update companies set name = $2, domain = coalesce($3, domain),"
        " industry = coalesce($4, industry), size = coalesce($5, size),"
        " address = coalesce($6, address), version = version + 1, updated_at = now()"
        " where id = $1",
        company_id,
        row.name,
        row.domain,
        row.industry,
        row.size,
        row.address,
    )
    return status != "UPDATE 0"


R = TypeVar("R", ImportedContact, ImportedCompany)


@dataclass(frozen=True)
class ImportKind(Generic[R]):
    """How a kind's rows are matched to known records and update them."""

    kind: str  # the timeline's subject type
    struct: type[R]
    keys: Callable[[asyncpg.Connection, list[R]], Awaitable[list[list[str]]]]
    known: Callable[[asyncpg.Connection, UUID, list[str]], Awaitable[dict[str, UUID]]]
    update: Callable[[asyncpg.Connection, UUID, UUID, R], Awaitable[bool]]


CONTACTS = ImportKind("contact", ImportedContact, _contact_keys, _known_contacts, _update_contact)
COMPANIES = ImportKind(
    "company", ImportedCompany, _company_keys_of, _known_companies, _update_company
)


async def absorb_known(
    c: asyncpg.Connection,
    tenant_id: UUID,
    user_id: UUID | None,
    import_kind: str,
    rows: Rows,
    on_duplicate: str,
) -> Rows:
    """The rows still to insert (good rows and their numbered cells): a row of a known record
    updates it ("update") or is dropped ("skip")."""
    if on_duplicate not in ("update", "skip") or not rows[0]:
        return rows
    if import_kind == "contacts":
        return await _absorb(CONTACTS, c, tenant_id, user_id, rows, on_duplicate)
    return await _absorb(COMPANIES, c, tenant_id, user_id, rows, on_duplicate)


async def _absorb(
    spec: ImportKind[R],
    c: asyncpg.Connection,
    tenant_id: UUID,
    user_id: UUID | None,
    rows: Rows,
    on_duplicate: str,
) -> Rows:
    good, numbered = rows
    typed = [msgspec.convert(r, spec.struct) for r in good]
    keys = await spec.keys(c, typed)
    wanted = sorted({k for found in keys for k in found})
    owner = await spec.known(c, tenant_id, wanted) if wanted else {}
    kept: Rows = ([], [])
    earlier: dict[str, int] = {}  # this batch's new rows (their index in `kept`) by key
    for data, row, cells, found in zip(good, typed, numbered, keys, strict=True):
        match = next((owner[k] for k in found if k in owner), None)
        twin = next((earlier[k] for k in found if k in earlier), None)
        if match is not None:
            if on_duplicate == "update" and await spec.update(c, tenant_id, match, row):
                summary = f"updated the {spec.kind} (CSV import)"
                await record_activity(tenant_id, user_id, spec.kind, match, "updated", summary)
        elif twin is not None:  # the file names the same record twice: one record
            if on_duplicate == "update":
                into = kept[0][twin]
                folded = msgspec.convert(into, spec.struct).fold(row)
                into.update(msgspec.structs.asdict(folded))
        else:
            kept[0].append(data)
            kept[1].append(cells)
            earlier.update(dict.fromkeys(found, len(kept[0]) - 1))
    return kept
