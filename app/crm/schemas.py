"""What the CRM pages accept: form and query Structs with their field rules (app/core/forms)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from app.core.forms import (
    Choice,
    Cursor,
    Day,
    Domain,
    Emails,
    Flag,
    Form,
    Integer,
    Moment,
    Numbered,
    Phones,
    Ref,
    Refs,
    Tags,
    Text,
    Version,
)

UNKNOWN_COMPANY = "Choose a company from your workspace."
UNKNOWN_OWNER = "Choose an owner from your workspace."
IMPORT_KINDS = ("contacts", "companies")
SUBJECT_TYPES = ("contact", "company", "deal")


class ContactForm(Form):
    """A new contact (and a CSV row of contacts)."""

    first_name: Annotated[str, Text("the first name", 100)] = ""
    last_name: Annotated[str, Text("the last name", 100)] = ""
    emails: Annotated[list[str], Emails()] = []
    phones: Annotated[list[str], Phones()] = []
    title: Annotated[str | None, Text("the job title", 200)] = None
    company_id: Annotated[UUID | None, Ref(UNKNOWN_COMPANY)] = None
    owner_id: Annotated[UUID | None, Ref(UNKNOWN_OWNER)] = None
    tags: Annotated[list[str], Tags()] = []
    filled_one_of = ("first_name", "last_name")

    def problems(self) -> dict[str, str]:
        if not self.first_name and not self.last_name:
            return {"first_name": "Enter a first or last name."}
        return {}


class ContactRow(ContactForm):
    """A CSV row of contacts: the company by name (created when it doesn't exist)."""

    company: Annotated[str, Text("the company", 200)] = ""


class ContactEdit(ContactForm, kw_only=True):
    """An edit names the version it was made from."""

    version: Annotated[int, Version()]


class CompanyForm(Form):
    """A new company (and a CSV row of companies)."""

    name: Annotated[str, Text("the company name", 200, required=True)]
    domain: Annotated[str | None, Domain()] = None
    industry: Annotated[str | None, Text("the industry", 100)] = None
    size: Annotated[str | None, Text("the size", 50)] = None
    address: Annotated[str | None, Text("the address", 1000, multiline=True)] = None
    owner_id: Annotated[UUID | None, Ref(UNKNOWN_OWNER)] = None


class CompanyEdit(CompanyForm, kw_only=True):
    version: Annotated[int, Version()]


class ConfirmDelete(Form):
    """A delete confirmed on a page that showed this version of the record."""

    version: Annotated[int, Version()]


class ListQuery(Form):
    """A list page's search, sort and keyset cursors (a bad sort or cursor: the default)."""

    q: Annotated[str, Text("the search", 200)] = ""
    sort: Annotated[str, Choice("the order", ("name", "newest"), lenient=True)] = "name"
    after: Annotated[str, Cursor()] = ""
    before: Annotated[str, Cursor()] = ""


class NewContactQuery(Form):
    """`/contacts/new?company=…`: the company to preselect (a bad id preselects none)."""

    company: Annotated[UUID | None, Ref(UNKNOWN_COMPANY, lenient=True)] = None


class NoteForm(Form):
    body: Annotated[str, Text("the note", 10000, required=True, multiline=True)]


class TaskForm(Form):
    title: Annotated[str, Text("what needs doing", 300, required=True)]
    due_date: Annotated[date | None, Day("the due date")] = None
    assignee_id: Annotated[UUID | None, Ref("Choose someone from your workspace.")] = None


ACTIVITY_KINDS = ("task", "call", "meeting", "email")
# outcome -> (its words, the kinds it fits)
OUTCOMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "connected": ("Connected", ("call",)),
    "no_answer": ("No answer", ("call",)),
    "left_voicemail": ("Left voicemail", ("call",)),
    "held": ("Held", ("meeting",)),
    "cancelled": ("Cancelled", ("meeting", "call")),
    "sent": ("Sent", ("email",)),
    "replied": ("Replied", ("email",)),
}
UNKNOWN_CONTACT = "Choose participants from your workspace's contacts."


class ActivityForm(Form, kw_only=True):
    """A call, meeting, email or to-do on a record: planned (a due time) or logged (done)."""

    kind: Annotated[str, Choice("the kind of activity", ACTIVITY_KINDS)] = "task"
    title: Annotated[str, Text("the subject", 300, required=True)]
    due_date: Annotated[date | None, Day("the due date")] = None
    due_at: Annotated[datetime | None, Moment("the date and time")] = None
    duration_minutes: Annotated[int | None, Integer("the duration in minutes", 0, 1440)] = None
    outcome: Annotated[str, Choice("the outcome", tuple(OUTCOMES), required=False)] = ""
    participant_ids: Annotated[list[UUID], Refs(UNKNOWN_CONTACT, 50)] = []
    notes: Annotated[str, Text("the notes", 10000, multiline=True)] = ""
    assignee_id: Annotated[UUID | None, Ref("Choose someone from your workspace.")] = None
    done: Annotated[bool, Flag("done")] = False

    def problems(self) -> dict[str, str]:
        if self.outcome and self.kind not in OUTCOMES[self.outcome][1]:
            words = OUTCOMES[self.outcome][0]
            return {"outcome": f"“{words}” is not an outcome of {self.kind}s. Choose another."}
        return {}


class ActivityEdit(ActivityForm, kw_only=True):
    """An edit names the version it was made from."""

    version: Annotated[int, Version()]


class ActivityDelete(Form, kw_only=True):
    """A delete of the activity as the page showed it, and where to go back to."""

    version: Annotated[int, Version()]
    next: Annotated[str, Choice("the page", ("", "/tasks"), lenient=True, required=False)] = ""


class AgendaQuery(Form):
    """The agenda's filter (admins may see everyone's) and page."""

    who: Annotated[str, Choice("whose", ("mine", "everyone"), lenient=True)] = "mine"
    page: Annotated[int | None, Integer("the page", 1, 10_000, lenient=True)] = None


class NextPage(Form):
    """Where a task's done/reopen/delete button returns to."""

    next: Annotated[str, Choice("the page", ("", "/tasks"), lenient=True, required=False)] = ""


class ImportUpload(Form):
    """The upload form's fields beside the file (read by the streaming upload)."""

    kind: Annotated[
        str, Choice("what to import", IMPORT_KINDS, message="Choose contacts or companies.")
    ]


class ImportMapping(Form):
    """Which field each column of the uploaded file goes to (`col_<n>`)."""

    columns: Annotated[dict[int, str], Numbered("col_", 200, "the field")] = {}
    # contacts whose email a contact already has: update it, skip the row, or create anyway
    on_duplicate: Annotated[
        str, Choice("what to do with contacts you already have", ("update", "skip", "create"))
    ] = "update"


class NewImportQuery(Form):
    """`/imports/new?kind=…`: what the upload form starts with."""

    kind: Annotated[str, Choice("what to import", IMPORT_KINDS, lenient=True)] = "contacts"
