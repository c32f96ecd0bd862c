"""Company pages: list, new, edit, delete with confirm, detail with contacts, deals, invoices."""

from __future__ import annotations

from uuid import UUID

from app.accounts.schemas import Current
from app.core.http_types import Req
from app.crm import companies
from app.crm.common import member_options
from app.crm.contacts import list_contacts
from app.crm.record_routes import RecordPages, record_routes
from app.crm.related import company_deals, company_invoices
from app.crm.schemas import CompanyEdit, CompanyForm


async def _form_context(current: Current, shown: dict[str, object]) -> dict[str, object]:
    size = shown.get("size")
    return {
        "member_options": await member_options(current),
        "size_options": [("", "— unknown —")]
        + [(s, s) for s in companies.SIZES]
        + ([(size, size)] if size not in (None, "", *companies.SIZES) else []),
    }


def _new_values(request: Req, current: Current) -> dict[str, object]:
    return {"owner_id": str(current.user_id)}


async def _related(current: Current, company_id: UUID) -> dict[str, object]:
    return {
        "contacts": await list_contacts(current, company_id=company_id, limit=100),
        "deals": await company_deals(current, company_id),
        "invoices": await company_invoices(current, company_id),
    }


def _name(company: dict[str, object]) -> str:
    return str(company["name"])


COMPANIES = RecordPages(
    kind="company",
    plural="companies",
    fields=companies.FIELDS,
    sorts=companies.SORTS,
    list_page=companies.list_companies,
    read=companies.get_company,
    create=companies.create_company,
    update=companies.update_company,
    delete=companies.delete_company,
    form=CompanyForm,
    edit_form=CompanyEdit,
    form_context=_form_context,
    new_values=_new_values,
    related=_related,
    name_of=_name,
    on_delete="Its contacts stay, without a company. Its notes and tasks are deleted.",
)

ROUTES, render_company = record_routes(COMPANIES)
