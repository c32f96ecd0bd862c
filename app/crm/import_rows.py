"""The crm domain's import kinds, contacts and companies: their fields, guessed header names,
row checks and batch inserts (the machinery is in imports.py and import_jobs.py).

Emails and phones are sealed (app/crm/secure.py) batch by batch before the insert.
"""

from __future__ import annotations

import uuid
from uuid import UUID

import asyncpg

from app.core.forms import parse
from app.core.forms.values import form_data
from app.crm import companies, contacts, import_custom, import_queries
from app.crm.import_dupes import absorb_known, duplicate_choices
from app.crm.import_kinds import Batch, ImportKind, RowValues, target
from app.crm.import_queries import NewCompany, NewContact
from app.crm.schemas import CompanyForm, ContactRow
from app.crm.secure import seal_contact


def _split_name(full: str) -> tuple[str, str]:
    parts = full.split()
    if len(parts) < 2:
        return (parts[0] if parts else ""), ""
    return " ".join(parts[:-1]), parts[-1]


def _check_contact(values: dict[str, str]) -> RowValues:
    if "full_name" in values:
        first, last = _split_name(values.pop("full_name"))
        values.setdefault("first_name", first)
        values.setdefault("last_name", last)
    row = parse(ContactRow, values)
    data = form_data(row, (*contacts.FIELDS, "custom"))  # custom: checked in the batch
    data["company"] = row.company
    return data


def _check_company(values: dict[str, str]) -> RowValues:
    return form_data(parse(CompanyForm, values), (*companies.FIELDS, "custom"))


async def company_ids(
    c: asyncpg.Connection, tenant_id: UUID, user_id: UUID | None, batch: Batch, names: set[str]
) -> dict[str, UUID]:
    """Ids of the named companies (lower-cased name), creating the ones that don't exist
    (counted on the batch)."""
    if not names:
        return {}
    found = await import_queries.companies_by_name(c, tenant_id, [n.lower() for n in names])
    missing = {n.lower(): n for n in names if n.lower() not in found}
    if missing:
        ids = await create_companies(
            c, tenant_id, user_id, batch, list(missing.values()), "(CSV import)"
        )
        found.update(zip(missing.keys(), ids, strict=True))
    return found


async def create_companies(
    c: asyncpg.Connection,
    tenant_id: UUID,
    user_id: UUID | None,
    batch: Batch,
    names: list[str],
    how: str,
) -> list[UUID]:
    """New companies named `names` for a batch's rows (counted on it), their timelines saying
    they were created `how`; their ids, in order."""
    ids = [uuid.uuid4() for _ in names]
    await import_queries.insert_named_companies(c, tenant_id, user_id, ids, names)
    await import_queries.insert_created_activities(
        c, tenant_id, user_id, "company", ids, f"created the company {how}"
    )
    batch.companies_created += len(ids)
    return ids


async def _absorb_contacts(
    c: asyncpg.Connection, tenant_id: UUID, user_id: UUID | None, batch: Batch, rule: str
) -> None:
    """Rows of contacts whose email is known: updated into them, skipped, or created."""
    known = (batch.good, batch.good_rows)
    batch.good, batch.good_rows = await absorb_known(c, tenant_id, user_id, "contacts", known, rule)
    refusal = await import_custom.new_company_refusal()
    wanted = [str(r["company"] or "").lower() for r in batch.good]
    if refusal and any(wanted):  # a company it would create couldn't have its required fields
        found = await import_queries.companies_by_name(c, tenant_id, sorted(set(wanted) - {""}))
        batch.sift([refusal if name and name not in found else None for name in wanted])


async def _absorb_companies(
    c: asyncpg.Connection, tenant_id: UUID, user_id: UUID | None, batch: Batch, rule: str
) -> None:
    """Rows of companies already there (same domain, or name key): updated, skipped, or created."""
    known = (batch.good, batch.good_rows)
    batch.good, batch.good_rows = await absorb_known(
        c, tenant_id, user_id, "companies", known, rule
    )


async def _insert_contacts(
    c: asyncpg.Connection, tenant_id: UUID, user_id: UUID | None, batch: Batch
) -> None:
    rows = batch.good
    wanted = {r["company"] for r in rows if r["company"]}
    named = await company_ids(c, tenant_id, user_id, batch, wanted)
    new: list[NewContact] = []
    for r in rows:
        cid = r.get("id") or uuid.uuid4()  # given when it has custom values to store
        emails_enc, emails_bidx, phones_enc, phones_bidx = seal_contact(
            r["emails"], r["phones"], tenant_id, cid
        )
        new.append(
            NewContact(
                id=cid,
                first_name=r["first_name"],
                last_name=r["last_name"],
                emails_enc=emails_enc,
                emails_bidx=emails_bidx,
                phones_enc=phones_enc,
                phones_bidx=phones_bidx,
                title=r["title"],
                company_id=named.get(r["company"].lower()) if r["company"] else None,
                tags=r["tags"],
            )
        )
    await import_queries.insert_contacts(c, tenant_id, user_id, new)
    await import_queries.insert_created_activities(
        c, tenant_id, user_id, "contact", [r.id for r in new], "created the contact (CSV import)"
    )


async def _insert_companies(
    c: asyncpg.Connection, tenant_id: UUID, user_id: UUID | None, batch: Batch
) -> None:
    rows = [
        NewCompany(
            id=r.get("id") or uuid.uuid4(),
            name=r["name"],
            domain=r["domain"],
            industry=r["industry"],
            size=r["size"],
            address=r["address"],
        )
        for r in batch.good
    ]
    await import_queries.insert_companies(c, tenant_id, user_id, rows)
    await import_queries.insert_created_activities(
        c, tenant_id, user_id, "company", [r.id for r in rows], "created the company (CSV import)"
    )


CONTACTS = ImportKind(
    name="contacts",
    label="Contacts",
    fields=(
        target(
            "first_name", "First name", {"firstname", "given name", "first", "vorname", "prenom"}
        ),
        target(
            "last_name",
            "Last name",
            {"lastname", "surname", "family name", "last", "nachname", "nom"},
        ),
        target(
            "full_name",
            "Full name (split into first and last)",
            {"name", "fullname", "contact", "contact name"},
        ),
        target(
            "emails",
            "Email addresses",
            {"email", "e-mail", "email address", "mail", "e-mail address"},
        ),
        target("phones", "Phone numbers", {"phone", "telephone", "phone number", "mobile", "tel"}),
        target("title", "Job title", {"job title", "position", "role"}),
        target(
            "company",
            "Company name (created if new)",
            {"company name", "organization", "organisation", "account"},
        ),
        target("tags", "Tags", {"tag", "labels"}),
    ),
    required=frozenset({"first_name", "last_name", "full_name"}),
    required_message="Map a column to the first name, last name or full name.",
    check_row=_check_contact,
    store=_insert_contacts,
    prepare=_absorb_contacts,
    duplicates=duplicate_choices("Update contacts with the same email"),
    duplicates_legend="Contacts whose email address you already have",
    guess_drops={"full_name": frozenset({"first_name", "last_name"})},
)

COMPANIES = ImportKind(
    name="companies",
    label="Companies",
    fields=(
        target("name", "Name", {"company", "company name", "organization", "organisation"}),
        target("domain", "Domain", {"website", "web", "url", "site"}),
        target("industry", "Industry", {"sector"}),
        target("size", "Size", {"employees", "headcount", "company size"}),
        target("address", "Address", {"street", "location"}),
    ),
    required=frozenset({"name"}),
    required_message="Map a column to the company name.",
    check_row=_check_company,
    store=_insert_companies,
    prepare=_absorb_companies,
    duplicates=duplicate_choices("Update companies with the same domain or name"),
    duplicates_legend=(
        "Companies you already have (the same website domain, or name: Ltd, GmbH, Inc… and"
        " punctuation aside)"
    ),
)

BUILT_IN = (CONTACTS, COMPANIES)
