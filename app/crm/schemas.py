"""What the CRM pages accept: form and query Structs with their field rules (app/core/forms)."""

from __future__ import annotations

import re
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
from app.core.forms.fields import Rule, Source
from app.core.forms.text import Invalid, storable
from app.crm.custom_fields import FIELD_TYPES, INPUT_PREFIX, OBJECT_KINDS

UNKNOWN_COMPANY = "Choose a company from your workspace."
UNKNOWN_OWNER = "Choose an owner from your workspace."
SUBJECT_TYPES = ("contact", "company", "deal")


CUSTOM_INPUT_RE = re.compile(r"^custom\.([a-z][a-z0-9_]{0,39})(\.currency)?$", re.ASCII)
MAX_CUSTOM_INPUTS = 400


class CustomInput(Rule):
    """The custom fields' inputs of a record form (`custom.<key>`, a money field's currency
    `custom.<key>.currency`) as sent, by key without the prefix; the service checks them
    against the workspace's fields (app/crm/custom_values.py)."""

    label = "the custom fields"
    many = True

    def take(self, source: Source, name: str) -> dict[str, list[str]]:
        sent = {k: v for k, v in source.items() if k.startswith(INPUT_PREFIX)}
        if len(sent) > MAX_CUSTOM_INPUTS:
            raise Invalid(f"Send at most {MAX_CUSTOM_INPUTS} custom fields.")
        found: dict[str, list[str]] = {}
        errors: dict[str, str] = {}
        for key, values in sent.items():
            match = CUSTOM_INPUT_RE.match(key)
            if match is None:
                errors["form"] = "A custom field's name is not one of ours. Reload the page."
                continue
            try:
                found[key.removeprefix(INPUT_PREFIX)] = [
                    storable(v, "a custom field") for v in values
                ]
            except Invalid as exc:
                errors[key] = exc.message
        if errors:
            raise Invalid("", fields=errors)
        return found


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
    custom: Annotated[dict[str, list[str]], CustomInput()] = {}
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
    custom: Annotated[dict[str, list[str]], CustomInput()] = {}


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


class TimelineQuery(Form):
    """`?before=…`: the cursor of the last timeline entry shown (older ones are asked for)."""

    before: Annotated[str | None, Cursor()] = None


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

    # one of the registered import kinds (app/crm/import_kinds.py): checked by the service
    kind: Annotated[str, Text("what to import", 40, required=True)]


class ImportMapping(Form):
    """Which field each column of the uploaded file goes to (`col_<n>`)."""

    columns: Annotated[dict[int, str], Numbered("col_", 200, "the field")] = {}
    # rows of records already there (contacts by email, deals by title and company): update
    # them, skip the row, or create anyway; "" is the kind's default (checked by the service)
    on_duplicate: Annotated[
        str,
        Choice(
            "what to do with rows you already have", ("update", "skip", "create"), required=False
        ),
    ] = ""


class NewImportQuery(Form):
    """`/imports/new?kind=…`: what the upload form starts with."""

    kind: Annotated[str, Text("what to import", 40, lenient=True)] = "contacts"


OPTION_MAX = 100
MAX_OPTIONS = 100


class Options(Rule):
    """A select's choices, one a line: trimmed, none empty, no commas or semicolons (a multi
    select's cell in a CSV separates them with those), no duplicates."""

    label = "the choices"

    def read(self, values: list[str]) -> list[str]:
        text = storable(self.one(values), self.label)
        found: dict[str, str] = {}
        for line in text.split("\n"):
            option = " ".join(line.split())
            if not option:
                continue
            if "," in option or ";" in option:
                raise Invalid(f"“{option[:60]}”: a choice can't hold a comma or semicolon.")
            if len(option) > OPTION_MAX:
                raise Invalid(f"A choice can be at most {OPTION_MAX} characters.")
            if option.lower() in found:
                raise Invalid(f"“{option}” is listed twice. List each choice once.")
            found[option.lower()] = option
        if len(found) > MAX_OPTIONS:
            raise Invalid(f"A field can have at most {MAX_OPTIONS} choices.")
        return list(found.values())

    def shown(self, values: list[str]) -> object:
        return values[-1] if values else ""


class CustomFieldForm(Form, kw_only=True):
    """A new custom field (Settings → Custom fields, admins)."""

    object_kind: Annotated[str, Choice("what the field is on", tuple(OBJECT_KINDS))]
    label: Annotated[str, Text("the field's name", 100, required=True)]
    key: Annotated[str, Text("the key", 40)] = ""
    field_type: Annotated[str, Choice("the type", tuple(FIELD_TYPES))]
    options: Annotated[list[str], Options()] = []
    required: Annotated[bool, Flag("required")] = False
    personal: Annotated[bool, Flag("personal data")] = False

    def problems(self) -> dict[str, str]:
        if self.key and not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", self.key):
            return {
                "key": "Use lowercase letters, digits and _ for the key, starting with a letter."
            }
        if self.field_type in ("select", "multi_select") and not self.options:
            return {"options": "List the choices, one a line."}
        return {}


class CustomFieldEdit(Form, kw_only=True):
    """A custom field's name, choices and flags changed (its kind, key and type stay)."""

    label: Annotated[str, Text("the field's name", 100, required=True)]
    options: Annotated[list[str], Options()] = []
    required: Annotated[bool, Flag("required")] = False
    personal: Annotated[bool, Flag("personal data")] = False
    version: Annotated[int, Version()]


class CustomFieldMove(Form, kw_only=True):
    """Archive, restore, purge or move a field, as the page showed it (its version)."""

    version: Annotated[int, Version()]
    direction: Annotated[str, Choice("the direction", ("up", "down"), required=False)] = ""
