"""The one place where input enters: form and query Structs, their field rules, the reader.

class ContactForm(Form):
    first_name: Annotated[str, Text("the first name", 100)] = ""
form = await read_form(request, ContactForm, page=show_form)  # refused -> 422 + page
query = read_query(request, ListQuery)                        # refused -> 422 / default
data = parse(ContactForm, {"first_name": "Ada"})              # CSV rows, seeds, tests
"""

from app.core.forms.fields import (
    Amount,
    Choice,
    Cursor,
    Day,
    Domain,
    Email,
    Flag,
    Integer,
    Moment,
    Password,
    Rule,
    Text,
    Token,
    Version,
)
from app.core.forms.lists import Emails, Numbered, Phones, Ref, Refs, Tags
from app.core.forms.parse import Form, Prefixed, Rows, parse, read_form, read_query
from app.core.forms.text import EMAIL_RE, Invalid, clean_text, parse_decimal, places, printable

__all__ = [
    "EMAIL_RE",
    "Amount",
    "Choice",
    "Cursor",
    "Day",
    "Domain",
    "Email",
    "Emails",
    "Flag",
    "Form",
    "Integer",
    "Invalid",
    "Moment",
    "Numbered",
    "Password",
    "Phones",
    "Prefixed",
    "Ref",
    "Refs",
    "Rows",
    "Rule",
    "Tags",
    "Text",
    "Token",
    "Version",
    "clean_text",
    "parse",
    "parse_decimal",
    "places",
    "printable",
    "read_form",
    "read_query",
]
