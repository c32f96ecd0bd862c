"""The kinds a merge knows (app/crm/merge.py): what a contact's and a company's merge choose,
union and move besides notes, activities, attachments and the timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated
from uuid import UUID

from app.accounts.schemas import Current
from app.crm import companies, contacts
from app.crm.merge import MergeForm, MergeKind, Shown, keep, strings
from app.crm.secure import open_contact, seal_contact
from app.crm.tables import Company, Contact


class ContactMergeForm(MergeForm, kw_only=True):
    first_name: Annotated[str, keep("whose first name stays")] = "this"
    last_name: Annotated[str, keep("whose last name stays")] = "this"
    title: Annotated[str, keep("whose job title stays")] = "this"
    company_id: Annotated[str, keep("whose company stays")] = "this"


class CompanyMergeForm(MergeForm, kw_only=True):
    name: Annotated[str, keep("whose name stays")] = "this"
    domain: Annotated[str, keep("whose website domain stays")] = "this"
    industry: Annotated[str, keep("whose industry stays")] = "this"
    size: Annotated[str, keep("whose size stays")] = "this"
    address: Annotated[str, keep("whose address stays")] = "this"


def _open_contact(row: Mapping[str, object]) -> Shown:
    return open_contact(row)


def _contact_stored(
    current: Current, contact_id: UUID, data: Shown
) -> tuple[Sequence[str], Sequence[object]]:
    emails, phones = strings(data["emails"]), strings(data["phones"])
    sealed = seal_contact(emails, phones, current.tenant_id, contact_id)
    values = [
        data["first_name"],
        data["last_name"],
        *sealed,
        data["title"],
        data["company_id"],
        data["owner_id"],
        data["tags"],
    ]
    return contacts.STORED_COLUMNS, values


CONTACT = MergeKind(
    kind="contact",
    plural="contacts",
    table=Contact,
    form=ContactMergeForm,
    chosen={
        "first_name": "First name",
        "last_name": "Last name",
        "title": "Job title",
        "company_id": "Company",
        "owner_id": "Owner",
    },
    unioned={"emails": "Email addresses", "phones": "Phone numbers", "tags": "Tags"},
    open=_open_contact,
    stored=_contact_stored,
    name_of=contacts.full_name,
    moves=(
        # activities naming the other as a participant name the survivor (once)
        "update tasks set participant_ids = array(select distinct p from"
        " unnest(array_replace(participant_ids, $2, $1)) as p), updated_at = now()"
        " where $2 = any(participant_ids)",
        # its deals: the survivor's (a deal of both keeps one link)
        "update deal_contacts d set contact_id = $1 where contact_id = $2 and not exists"
        " (select 1 from deal_contacts k where k.deal_id = d.deal_id and k.contact_id = $1)",
        "delete from deal_contacts where contact_id = $2 and contact_id <> $1",
    ),
)


def _company_stored(
    current: Current, company_id: UUID, data: Shown
) -> tuple[Sequence[str], Sequence[object]]:
    return companies.FIELDS, [data[f] for f in companies.FIELDS]


def _company_name(data: Shown) -> str:
    return str(data.get("name") or "")


# the other company's contacts, deals and invoices: the survivor's, at a new version (an edit
# opened before the merge would otherwise write the deleted company back)
_REPOINT = (
    "update {} set company_id = $1, version = version + 1, updated_at = now() where company_id = $2"
)

COMPANY = MergeKind(
    kind="company",
    plural="companies",
    table=Company,
    form=CompanyMergeForm,
    chosen={
        "name": "Name",
        "domain": "Website domain",
        "industry": "Industry",
        "size": "Employees",
        "address": "Address",
        "owner_id": "Owner",
    },
    unioned={},
    open=dict,
    stored=_company_stored,
    name_of=_company_name,
    moves=tuple(_REPOINT.format(table) for table in ("contacts", "deals", "invoices")),
)
