"""/api/v1/contacts and /api/v1/companies: the CRM's own services and forms behind them."""

from __future__ import annotations

from app.api.listing import Listing
from app.api.resource import Resource
from app.api.schemas import CompanyIn, CompanyOut, ContactIn, ContactOut
from app.crm import companies, contacts
from app.crm.schemas import CompanyEdit, CompanyForm, ContactEdit, ContactForm
from app.crm.secure import open_contact

CONTACTS_COLUMNS = (
    "r.id, r.tenant_id, r.first_name, r.last_name, r.emails_enc, r.phones_enc, r.title,"
    " r.company_id, r.owner_id, r.tags, r.version, r.created_at, r.updated_at"
)
CONTACTS = Resource(
    name="contacts",
    one="contact",
    listing=Listing("contacts r", CONTACTS_COLUMNS, "r.search_text", "r.owner_id"),
    out=ContactOut,
    body=ContactIn,
    new_form=ContactForm,
    edit_form=ContactEdit,
    create=contacts.create_contact,
    update=contacts.update_contact,
    delete=contacts.delete_contact,
    opened=open_contact,  # emails, phones
    custom="contact",
    about="Contacts (q: name, title or tag; owner; updated_since), sorted, paged.",
)
COMPANIES_COLUMNS = (
    "r.id, r.name, r.domain, r.industry, r.size, r.address, r.owner_id, r.version,"
    " r.created_at, r.updated_at"
)
COMPANIES = Resource(
    name="companies",
    one="company",
    listing=Listing("companies r", COMPANIES_COLUMNS, "r.name", "r.owner_id"),
    out=CompanyOut,
    body=CompanyIn,
    new_form=CompanyForm,
    edit_form=CompanyEdit,
    create=companies.create_company,
    update=companies.update_company,
    delete=companies.delete_company,
    custom="company",
    about="Companies (q: name; owner; updated_since), sorted, paged.",
)

ROUTES = [*CONTACTS.routes(), *COMPANIES.routes()]
