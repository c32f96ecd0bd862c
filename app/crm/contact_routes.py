"""Contact pages: list (search, sort, keyset pages), new, edit, delete with confirm, detail."""

from __future__ import annotations

from uuid import UUID

from app.accounts.schemas import Current
from app.core.forms import read_query
from app.core.forms.values import chosen_ids
from app.core.http_types import Req
from app.crm import contacts
from app.crm.common import member_options
from app.crm.companies import company_choices
from app.crm.record_routes import RecordPages, record_routes
from app.crm.related import contact_deals
from app.crm.schemas import ContactEdit, ContactForm, NewContactQuery


async def _form_context(current: Current, shown: dict[str, object]) -> dict[str, object]:
    return {
        "companies": await company_choices(current, chosen_ids(shown.get("company_id"))),
        "member_options": await member_options(current),
    }


def _new_values(request: Req, current: Current) -> dict[str, object]:
    company = read_query(request, NewContactQuery).company
    return {"company_id": str(company or ""), "owner_id": str(current.user_id)}


async def _related(current: Current, contact_id: UUID) -> dict[str, object]:
    return {"deals": await contact_deals(current, contact_id)}


CONTACTS = RecordPages(
    kind="contact",
    plural="contacts",
    fields=contacts.FIELDS,
    sorts=contacts.SORTS,
    list_page=contacts.list_contacts,
    read=contacts.get_contact,
    create=contacts.create_contact,
    update=contacts.update_contact,
    delete=contacts.delete_contact,
    form=ContactForm,
    edit_form=ContactEdit,
    form_context=_form_context,
    new_values=_new_values,
    related=_related,
    name_of=contacts.full_name,
    on_delete="Its notes and tasks are deleted too. The timeline keeps a record.",
)

ROUTES, render_contact = record_routes(CONTACTS)
