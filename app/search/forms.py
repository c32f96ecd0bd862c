"""What the search pages accept (app/core/forms: a bad value is a 422 with its message)."""

from __future__ import annotations

from typing import Annotated

from app.core.forms import Form, Text


class SearchQuery(Form):
    """`/search?q=` and a picker's `?q=`: the text typed (at most 200 characters)."""

    q: Annotated[str, Text("the search", 200)] = ""
