"""/api/v1/contacts and /api/v1/companies: the CRM's own services and forms behind them."""

from __future__ import annotations

from typing import Any

import msgspec

from app.api.custom_routes import custom_in, custom_out, custom_sql
from app.api.listing import Listing
from app.api.resource import Resource
from app.api.schemas import CompanyIn, CompanyList, CompanyOut, ContactIn, ContactList, ContactOut
from app.crm import companies, contacts
from app.crm.schemas import CompanyEdit, CompanyForm, ContactEdit, ContactForm
from app.crm.secure import open_contact


def _contact(row: dict[str, Any]) -> ContactOut:
    return msgspec.convert(open_contact(custom_out(row)), ContactOut)  # emails, phones opened


def _company(row: dict[str, Any]) -> CompanyOut:
    return msgspec.convert(custom_out(row), CompanyOut)


CONTACTS_COLUMNS = (
    "r.id, r.tenant_id, r.first_name, r.last_name, r.emails_enc, r.phones_enc, r.title,"
    " r.company_id, r.owner_id, r.tags, r.version, r.created_at, r.updated_at, "
    + custom_sql("contact")
)
CONTACTS = Resource(
    name="contacts",
    one="contact",
    listing=Listing("contacts r", CONTACTS_COLUMNS, "r.search_text", "r.owner_id"),
    out=ContactOut,
    page=ContactList,
    body=ContactIn,
    fields=(*contacts.FIELDS, "custom"),
    new_form=ContactForm,
    edit_form=ContactEdit,
    create=contacts.create_contact,
    update=contacts.update_contact,
    delete=contacts.delete_contact,
    shown=_contact,
    local=custom_in,
    about="Contacts (q: name, title or tag; owner; updated_since), sorted, paged.",
)
COMPANIES_COLUMNS = (
    "r.id, r.name, r.domain, r.industry, r.size, r.address, r.owner_id, r.version,"
    " r.created_at, r.updated_at, " + custom_sql("company")
)
COMPANIES = Resource(
    name="companies",
    one="company",
    listing=Listing("companies r", COMPANIES_COLUMNS, "r.name", "r.owner_id"),
    out=CompanyOut,
    page=CompanyList,
    body=CompanyIn,
    fields=("name", "domain", "industry", "size", "address", "owner_id", "custom"),
    new_form=CompanyForm,
    edit_form=CompanyEdit,
    create=companies.create_company,
    update=companies.update_company,
    delete=companies.delete_company,
    shown=_company,
    local=custom_in,
    about="Companies (q: name; owner; updated_since), sorted, paged.",
)

ROUTES = [*CONTACTS.routes(), *COMPANIES.routes()]
