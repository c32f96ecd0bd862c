"""/api/v1/contacts and /api/v1/companies: thin routes over the CRM's own services."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Response, delete, get, patch, post

from app.accounts.schemas import Current
from app.api.auth import needs
from app.api.listing import (
    Filters,
    Listing,
    list_page,
    merged,
    one_row,
    sent_fields,
    version_of,
)
from app.api.listing import form_source as source
from app.api.schemas import CompanyIn, CompanyList, CompanyOut, ContactIn, ContactList, ContactOut
from app.core.forms import parse
from app.core.http_types import Req
from app.crm import companies, contacts
from app.crm.schemas import CompanyEdit, CompanyForm, ContactEdit, ContactForm
from app.crm.secure import open_contact

CONTACTS = Listing(
    from_sql="contacts r",
    select=(
        "r.id, r.tenant_id, r.first_name, r.last_name, r.emails_enc, r.phones_enc, r.title,"
        " r.company_id, r.owner_id, r.tags, r.version, r.created_at, r.updated_at"
    ),
    search="r.search_text",
    owner="r.owner_id",
)
COMPANIES = Listing(
    from_sql="companies r",
    select=(
        "r.id, r.name, r.domain, r.industry, r.size, r.address, r.owner_id, r.version,"
        " r.created_at, r.updated_at"
    ),
    search="r.name",
    owner="r.owner_id",
)


def tagged(body: msgspec.Struct, version: int) -> Response[msgspec.Struct]:
    """A record with its version as the ETag (send it back as If-Match to update)."""
    return Response(body, headers={"ETag": f'"{version}"'})


# ---- contacts ----------------------------------------------------------------------------


async def _contact(current: Current, contact_id: UUID) -> ContactOut:
    row = await one_row(current, CONTACTS, contact_id)
    return msgspec.convert(open_contact(row), ContactOut)


@get("/contacts", opt=needs("contacts", "read"))
async def list_contacts(current: Current, filters: Filters) -> ContactList:
    """Contacts, filtered (q: name, title or tag; owner; updated_since), sorted, paged."""
    page = await list_page(current, CONTACTS, filters)
    data = [msgspec.convert(open_contact(row), ContactOut) for row in page.rows]
    return ContactList(data, page.next_cursor)


@get("/contacts/{contact_id:uuid}", opt=needs("contacts", "read"))
async def get_contact(current: Current, contact_id: UUID) -> Response[ContactOut]:
    found = await _contact(current, contact_id)
    return tagged(found, found.version)  # type: ignore[return-value]


@post("/contacts", opt=needs("contacts", "write"))
async def create_contact(current: Current, data: ContactIn) -> ContactOut:
    form = parse(ContactForm, source(sent_fields(data)))
    return await _contact(current, await contacts.create_contact(current, form))


@patch("/contacts/{contact_id:uuid}", opt=needs("contacts", "write"))
async def update_contact(
    request: Req, current: Current, contact_id: UUID, data: ContactIn
) -> ContactOut:
    """Change the fields sent; the version read must still be current (else 409)."""
    version = version_of(request, data.version)
    before = open_contact(await one_row(current, CONTACTS, contact_id))
    values = {**merged(before, data, contacts.FIELDS), "version": version}
    await contacts.update_contact(current, contact_id, parse(ContactEdit, source(values)))
    return await _contact(current, contact_id)


@delete("/contacts/{contact_id:uuid}", opt=needs("contacts", "write"))
async def delete_contact(
    request: Req, current: Current, contact_id: UUID, version: int | None = None
) -> None:
    """Delete a contact with its notes and tasks (If-Match or ?version= the one read)."""
    await contacts.delete_contact(current, contact_id, version_of(request, version))


# ---- companies ---------------------------------------------------------------------------

COMPANY_FIELDS = ("name", "domain", "industry", "size", "address", "owner_id")


async def _company(current: Current, company_id: UUID) -> CompanyOut:
    return msgspec.convert(await one_row(current, COMPANIES, company_id), CompanyOut)


@get("/companies", opt=needs("companies", "read"))
async def list_companies(current: Current, filters: Filters) -> CompanyList:
    """Companies, filtered (q: name; owner; updated_since), sorted, paged."""
    page = await list_page(current, COMPANIES, filters)
    return CompanyList(msgspec.convert(page.rows, list[CompanyOut]), page.next_cursor)


@get("/companies/{company_id:uuid}", opt=needs("companies", "read"))
async def get_company(current: Current, company_id: UUID) -> Response[CompanyOut]:
    found = await _company(current, company_id)
    return tagged(found, found.version)  # type: ignore[return-value]


@post("/companies", opt=needs("companies", "write"))
async def create_company(current: Current, data: CompanyIn) -> CompanyOut:
    form = parse(CompanyForm, source(sent_fields(data)))
    return await _company(current, await companies.create_company(current, form))


@patch("/companies/{company_id:uuid}", opt=needs("companies", "write"))
async def update_company(
    request: Req, current: Current, company_id: UUID, data: CompanyIn
) -> CompanyOut:
    version = version_of(request, data.version)
    before = await one_row(current, COMPANIES, company_id)
    values = {**merged(before, data, COMPANY_FIELDS), "version": version}
    await companies.update_company(current, company_id, parse(CompanyEdit, source(values)))
    return await _company(current, company_id)


@delete("/companies/{company_id:uuid}", opt=needs("companies", "write"))
async def delete_company(
    request: Req, current: Current, company_id: UUID, version: int | None = None
) -> None:
    await companies.delete_company(current, company_id, version_of(request, version))


ROUTES = [
    list_contacts,
    get_contact,
    create_contact,
    update_contact,
    delete_contact,
    list_companies,
    get_company,
    create_company,
    update_company,
    delete_company,
]
