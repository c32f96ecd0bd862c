"""What the support pages accept: the public contact form, the staff inbox's filters, replies."""

from __future__ import annotations

from typing import Annotated

from app.core.forms import Choice, Cursor, Email, Flag, Form, Text

TOPICS = {
    "general": "A question about Odex",
    "account": "My account or login",
    "billing": "Billing and plans",
    "privacy": "Privacy and my data",
    "security": "Report a security issue",
    "bug": "Something is broken",
}
STATUSES = ("open", "answered", "closed")
MAX_MESSAGE = 5000
MAX_REPLY = 10000


class InquiryForm(Form):
    name: Annotated[str, Text("your name", 200, required=True)]
    email: Annotated[str, Email(message="Enter your email address, so that we can answer you.")]
    topic: Annotated[str, Choice("a topic", TOPICS, message="Choose what your request is about.")]
    subject: Annotated[str, Text("a subject", 200, required=True)]
    message: Annotated[str, Text("your message", MAX_MESSAGE, required=True, multiline=True)]


class Honeypot(Form):
    """A field hidden from people: a bot that fills every field reveals itself."""

    website: Annotated[str, Text("the website", 2000, lenient=True)] = ""


class SupportQuery(Form):
    topic: Annotated[str, Choice("a topic", TOPICS, lenient=True)] = "general"
    sent: Annotated[str, Text("sent", 10, lenient=True)] = ""


class InboxQuery(Form):
    status: Annotated[str, Choice("the status", (*STATUSES, "all"), lenient=True)] = "open"
    q: Annotated[str, Text("the search", 200)] = ""
    before: Annotated[str, Cursor()] = ""


class ReplyForm(Form):
    body: Annotated[str, Text("a reply", MAX_REPLY, required=True, multiline=True)]
    close: Annotated[bool, Flag("“close the request”")] = False


class TicketStatus(Form):
    status: Annotated[
        str, Choice("the status", STATUSES, message="Choose open, answered or closed.")
    ]
