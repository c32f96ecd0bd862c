"""What the API-token settings page accepts."""

from __future__ import annotations

from typing import Annotated

from app.api.tokens import ALL_SCOPES, EXPIRY_DAYS, OFFERED
from app.core.forms import Choice, Form, Integer, Text
from app.core.forms.lists import Items


class Scopes(Items):
    """Ticked scope checkboxes (`contacts:read`, …), each one of the offered scopes."""

    label = "the scopes"
    max_items = len(ALL_SCOPES)
    too_many = "Choose scopes from the list."

    def check(self, item: str) -> str | None:
        return None if item in OFFERED else "Choose scopes from the list."


class TokenForm(Form):
    """A new API token: a name to recognise it by, its scopes, expiry and rate limit."""

    name: Annotated[str, Text("the token's name", 100, required=True)]
    scopes: Annotated[list[str], Scopes()] = []
    days: Annotated[str, Choice("when it expires", tuple(str(d) for d in EXPIRY_DAYS))] = "90"
    rate_per_minute: Annotated[int | None, Integer("the requests a minute", 1, 10000)] = None

    def problems(self) -> dict[str, str]:
        return {} if self.scopes else {"scopes": "Choose at least one scope."}
