"""What the security pages accept: two-factor forms, the alert and audit filters."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec

from app.core.forms import Day, Flag, Form, Integer, Password, Text

CODE = Text("the code", 64, required=True, message="Enter the code your app shows.")


class PasswordForm(Form):
    """Re-enter the password (new recovery codes)."""

    current_password: Annotated[str, Password("your current password")]


class PasswordAndCode(Form):
    """Re-enter the password and a code (turn MFA on or off)."""

    current_password: Annotated[str, Password("your current password")]
    code: Annotated[str, CODE]


class CodeForm(Form):
    """The second step of a login."""

    code: Annotated[str, CODE]


class OwnerPolicy(Form):
    mfa_required_for_owners: Annotated[bool, Flag("“Owners must use two-factor”")] = False


class AlertsQuery(Form):
    page: Annotated[int, Integer("the page", 1, 10_000, lenient=True)] = 1
    open: Annotated[str, Text("the filter", 10, lenient=True)] = ""


class AuditQuery(Form):
    """The audit log's filters (a bad date or page is ignored; bad text is refused)."""

    action: Annotated[str, Text("the action", 200)] = ""
    actor: Annotated[str, Text("the person", 200)] = ""
    q: Annotated[str, Text("the search", 200)] = ""
    since: Annotated[date | None, Day("the first day", lenient=True)] = msgspec.field(
        default=None, name="from"
    )
    until: Annotated[date | None, Day("the last day", lenient=True)] = msgspec.field(
        default=None, name="to"
    )
    page: Annotated[int, Integer("the page", 1, 100_000, lenient=True)] = 1
