"""Company pages: list, new, edit, delete with confirm, detail with contacts, deals, invoices
(its content kept per process: app/crm/company_page.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Response

from app.accounts.schemas import Current
from app.core.folded import folds, take_folded
from app.core.http_types import Req
from app.core.web import get_session, render_with_parts
from app.crm import companies
from app.crm.company_duplicates import (
    EditedCompany,
    NewCompany,
    create_unless_duplicate,
    update_unless_duplicate,
)
from app.crm.company_page import PAGE_READ, company_content
from app.crm.filters import CompanyView
from app.crm.record_routes import RecordPages, Values, record_routes


class CompanyPages(RecordPages[NewCompany, EditedCompany, CompanyView]):
    """A company's form offers the sizes (and a stored one no longer offered); its page lists
    its contacts, deals and invoices, kept rendered while none of it changed."""

    async def form_context(self, current: Current, shown: Values) -> Values:
        size = shown.get("size")
        return {
            **await super().form_context(current, shown),
            "size_options": [("", "— unknown —")]
            + [(s, s) for s in companies.SIZES]
            + ([(size, size)] if size not in (None, "", *companies.SIZES) else []),
        }

    async def detail_page(
        self, request: Req, current: Current, record_id: UUID, extra: Values | None
    ) -> Response[Any]:
        """The company's content kept per process (app/crm/company_page.py) in the layout;
        with `extra` (a refused note or activity form) rendered now, never kept."""
        csrf = get_session(request).csrf
        folded = take_folded(request.scope, PAGE_READ)  # read with the signed-in check
        page = await company_content(current, record_id, csrf, extra, folded)
        ctx = {"company": page.company}
        return render_with_parts(
            request,
            self.template("detail"),
            ctx,
            {"company_content": page.content},
            kept_by=tuple(page.company.items()),
        )


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
    # no page-wide transaction: a kept page's state is read with the signed-in check, one
    # statement (app/crm/company_page.py, app/core/folded.py)
    detail_opt=folds(PAGE_READ),
    on_delete="Its contacts stay, without a company. Its notes and tasks are deleted.",
)

ROUTES, render_company = record_routes(COMPANIES)
