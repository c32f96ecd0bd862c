"""Contact pages: list (search, sort, keyset pages), new, edit, delete with confirm, detail."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from app.accounts.schemas import Current
from app.core.forms import read_query
from app.core.forms.values import chosen_ids
from app.core.http_types import Req
from app.crm import contacts, duplicates
from app.crm.companies import company_choices
from app.crm.filters import ContactView
from app.crm.record_routes import RecordPages, Values, record_routes
from app.crm.schemas import ContactEdit, NewContactQuery


class ContactPages(RecordPages[duplicates.NewContact, ContactEdit, ContactView]):
    """A contact's form offers the companies (a new one can start at one); its name is first
    and last name."""

    async def form_context(self, current: Current, shown: Values) -> Values:
        return {
            "companies": await company_choices(current, chosen_ids(shown.get("company_id"))),
            **await super().form_context(current, shown),
        }

    def new_values(self, request: Req, current: Current) -> Values:
        company = read_query(request, NewContactQuery).company
        return {"company_id": str(company or ""), **super().new_values(request, current)}

    def name_of(self, record: Values) -> str:
        return contacts.full_name(record)

    def listed(
        self, rows: list[dict[str, object]], cells: Mapping[str, list[str]]
    ) -> list[tuple[Hashable, ...]]:
        """Each row as its kept fragment's values (crm/contacts/_row.html): a page of rows
        shown before renders (and decrypts) nothing again."""
        return [(contacts.listed(row), tuple(cells.get(str(row["id"]), ()))) for row in rows]


CONTACTS = ContactPages(
    kind="contact",
    plural="contacts",
    fields=contacts.FIELDS,
    columns=contacts.COLUMNS,
    view_schema=ContactView,
    list_page=contacts.list_contacts,
    read=contacts.get_contact,
    create=duplicates.create_unless_duplicate,
    update=contacts.update_contact,
    delete=contacts.delete_contact,
    form=duplicates.NewContact,
    edit_form=ContactEdit,
    on_delete="Its notes and tasks are deleted too. The timeline keeps a record.",
)

ROUTES, render_contact = record_routes(CONTACTS)
