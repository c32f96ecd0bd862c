"""What the webhook settings accept: a subscription's address, events and description, and the
delivery log's page cursor."""

from __future__ import annotations

from typing import Annotated

from app.core.forms import Form, Integer, Text, Version
from app.core.forms.fields import Rule
from app.core.forms.text import Invalid, storable
from app.webhooks.schemas import EVENTS

MAX_URL = 2000


class Events(Rule):
    """Ticked event boxes (repeated fields), each one of EVENTS, at least one."""

    many = True
    label = "the events"

    def read(self, values: list[str]) -> list[str]:
        chosen: dict[str, None] = {}
        for raw in values:
            value = storable(raw, self.label).strip()
            if value not in EVENTS:
                raise Invalid("Choose events from the list.")
            chosen[value] = None
        if not chosen:
            raise Invalid("Choose at least one event to send.")
        return [e for e in EVENTS if e in chosen]

    def shown(self, values: list[str]) -> list[str]:
        return values


class WebhookForm(Form):
    url: Annotated[str, Text("the address", MAX_URL, required=True)]
    events: Annotated[list[str], Events()]
    description: Annotated[str, Text("the description", 200)] = ""


class WebhookEdit(WebhookForm, kw_only=True):
    version: Annotated[int, Version()]


class LogQuery(Form):
    before: Annotated[int | None, Integer("the page", 1, 999_999_999_999, lenient=True)] = None


class DeleteForm(Form):
    version: Annotated[int, Version()]
