"""Company pages: list, new, edit, delete with confirm, detail with contacts, deals, invoices."""

from __future__ import annotations

from uuid import UUID

from app.accounts.schemas import Current
from app.crm import companies
from app.crm.company_duplicates import (
    EditedCompany,
    NewCompany,
    create_unless_duplicate,
    update_unless_duplicate,
)
from app.crm.contacts import company_contacts
from app.crm.filters import CompanyView
from app.crm.record_routes import RecordPages, Values, record_routes
from app.crm.related import company_invoices


class CompanyPages(RecordPages[NewCompany, EditedCompany, CompanyView]):
    """A company's form offers the sizes (and a stored one no longer offered); its page lists
    its contacts, deals and invoices."""

    async def form_context(self, current: Current, shown: Values) -> Values:
        size = shown.get("size")
        return {
            **await super().form_context(current, shown),
            "size_options": [("", "— unknown —")]
            + [(s, s) for s in companies.SIZES]
            + ([(size, size)] if size not in (None, "", *companies.SIZES) else []),
        }

    async def related(self, current: Current, record_id: UUID) -> Values:
        return {
            "contacts": await company_contacts(current, record_id, limit=100),
            **await super().related(current, record_id),
            "invoices": await company_invoices(current, record_id),
        }


COMPANIES = CompanyPages(
    kind="company",
    plural="companies",
    fields=companies.FIELDS,
    columns=companies.COLUMNS,
    view_schema=CompanyView,
    list_page=companies.list_companies,
    read=companies.get_company,
    create=create_unless_duplicate,
    update=update_unless_duplicate,
    delete=companies.delete_company,
    form=NewCompany,
    edit_form=EditedCompany,
    on_delete="Its contacts stay, without a company. Its notes and tasks are deleted.",
)

ROUTES, render_company = record_routes(COMPANIES)
