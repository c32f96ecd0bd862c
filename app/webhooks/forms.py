"""What the webhook settings accept: a subscription's address, events, read scopes, personal-data
choice and description, and the delivery log's page cursor."""

from __future__ import annotations

from typing import Annotated

from app.core.forms import Flag, Form, Integer, Text, Version
from app.core.forms.fields import Rule
from app.core.forms.text import Invalid, storable
from app.webhooks.schemas import EVENTS
from app.webhooks.scopes import SCOPES, refusal

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


class Scopes(Rule):
    """Ticked read-scope boxes (repeated fields), each one of SCOPES; none is allowed here
    (the events then say which they need)."""

    many = True
    label = "the scopes"

    def read(self, values: list[str]) -> list[str]:
        chosen: set[str] = set()
        for raw in values:
            value = storable(raw, self.label).strip()
            if value not in SCOPES:
                raise Invalid("Choose what the webhook may read from the list.")
            chosen.add(value)
        return [s for s in SCOPES if s in chosen]

    def shown(self, values: list[str]) -> list[str]:
        return values


class WebhookForm(Form):
    url: Annotated[str, Text("the address", MAX_URL, required=True)]
    events: Annotated[list[str], Events()]
    scopes: Annotated[list[str], Scopes()] = []
    personal_data: Annotated[bool, Flag("“Include personal data”")] = False
    description: Annotated[str, Text("the description", 200)] = ""

    def problems(self) -> dict[str, str]:
        """Every chosen event's object must be within the scopes."""
        why = refusal(self.events, self.scopes)
        return {"events": why} if why else {}


class WebhookEdit(WebhookForm, kw_only=True):
    version: Annotated[int, Version()]


class LogQuery(Form):
    before: Annotated[int | None, Integer("the page", 1, 999_999_999_999, lenient=True)] = None


class DeleteForm(Form):
    version: Annotated[int, Version()]
