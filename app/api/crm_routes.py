"""/api/v1/contacts and /api/v1/companies: the CRM's own services and forms behind them."""

from __future__ import annotations

from app.api.resource import Resource
from app.api.schemas import CompanyIn, CompanyOut, ContactIn, ContactOut
from app.crm import companies, contacts
from app.crm.schemas import CompanyEdit, CompanyForm, ContactEdit, ContactForm
from app.crm.secure import open_contact

CONTACTS = Resource(
    name="contacts",
    one="contact",
    search="r.search_text",
    out=ContactOut,
    body=ContactIn,
    create=(ContactForm, contacts.create_contact),
    update=(ContactEdit, contacts.update_contact),
    delete=contacts.delete_contact,
    columns={"emails": "r.emails_enc", "phones": "r.phones_enc"},
    opened=open_contact,  # emails, phones
    about="Contacts (q: name, title or tag; owner; updated_since), sorted, paged.",
)
COMPANIES = Resource(
    name="companies",
    one="company",
    search="r.name",
    out=CompanyOut,
    body=CompanyIn,
    create=(CompanyForm, companies.create_company),
    update=(CompanyEdit, companies.update_company),
    delete=companies.delete_company,
    about="Companies (q: name; owner; updated_since), sorted, paged.",
)

ROUTES = [*CONTACTS.routes(), *COMPANIES.routes()]
