"""What the account pages accept: sign-up, login, reset, profile, team (app/core/forms)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from app.accounts.schemas import ROLES
from app.core import formats
from app.core.forms import Choice, Email, Form, Password, Text, Token, Version
from app.core.money import currencies
from app.core.passwords import MAX_LENGTH, password_problem

CHOOSE_ROLE = "Choose owner, admin or member."
MISMATCH = "The two passwords don't match."


class SignupForm(Form):
    name: Annotated[str, Text("your name", 200, required=True)]
    email: Annotated[str, Email()]
    company: Annotated[str, Text("your company name", 200, required=True)]
    password: Annotated[str, Password("a password", max_length=MAX_LENGTH)]

    def problems(self) -> dict[str, str]:
        problem = password_problem(self.password, email=self.email, name=self.name)
        return {"password": problem} if problem else {}


class LoginForm(Form):
    """Any text is a possible email here: a wrong one gets the one vague answer."""

    email: Annotated[str, Text("your email address", 320, required=True)]
    password: Annotated[str, Password()]
    next: Annotated[str, Text("the page to open", 2000)] = ""


class NextQuery(Form):
    """`?next=…` of the login page (only local paths are followed: core.web.safe_local_path)."""

    next: Annotated[str, Text("the page to open", 2000, lenient=True)] = "/app"


class TokenQuery(Form):
    """`?token=…` of a mailed link."""

    token: Annotated[str, Token()] = ""


class ForgotForm(Form):
    email: Annotated[str, Text("your email address", 320, required=True)]


class ResetForm(Form):
    token: Annotated[str, Token()]
    password: Annotated[str, Password("a new password", max_length=MAX_LENGTH)]
    confirm: Annotated[str, Password("the new password again", required=False)] = ""

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        problem = password_problem(self.password)
        if problem:
            errors["password"] = problem
        if self.password != self.confirm:
            errors["confirm"] = MISMATCH
        return errors


class ProfileSection(Form):
    """Which of the profile page's forms was sent."""

    section: Annotated[
        str, Choice("the section", ("name", "email", "password", "region"), lenient=True)
    ] = "name"


class ProfileName(Form):
    name: Annotated[str, Text("your name", 200, required=True)]


class ProfileRegion(Form):
    """How dates, times, numbers and money read for this person."""

    time_zone: Annotated[
        str,
        Choice(
            "the time zone",
            formats.time_zones,
            message="Choose a time zone from the list (like Europe/Berlin or Asia/Tokyo).",
        ),
    ]
    locale: Annotated[
        str,
        Choice(
            "the format",
            formats.LOCALES,
            message="Choose one of the listed formats (like en-GB or de-DE).",
        ),
    ]


class ProfileEmail(Form):
    email: Annotated[str, Email()]
    current_password: Annotated[str, Password("your current password")]


class ProfilePassword(Form):
    current_password: Annotated[str, Password("your current password")]
    new_password: Annotated[str, Password("a new password", max_length=MAX_LENGTH)]
    confirm: Annotated[str, Password("the new password again", required=False)] = ""

    def problems(self) -> dict[str, str]:
        return {"confirm": MISMATCH} if self.new_password != self.confirm else {}


class CompanyNameForm(Form):
    company: Annotated[str, Text("the company name", 200, required=True)]


VAT_ID_RE = re.compile(r"^[A-Za-z0-9 .-]*$")


class SellerForm(Form):
    """The seller details printed on the workspace's invoices (Company settings, admins)."""

    version: Annotated[int, Version()]
    legal_name: Annotated[str, Text("the legal name", 200)] = ""
    address: Annotated[str, Text("the address", 1000, multiline=True)] = ""
    vat_id: Annotated[str, Text("the VAT id", 40)] = ""
    payment_details: Annotated[str, Text("the payment details", 1000, multiline=True)] = ""
    invoice_footer: Annotated[str, Text("the invoice footer", 1000, multiline=True)] = ""

    def problems(self) -> dict[str, str]:
        if not VAT_ID_RE.match(self.vat_id):
            return {
                "vat_id": "A VAT id has letters, digits, spaces, dots and dashes only"
                " (like DE123456789)."
            }
        return {}


class InviteForm(Form):
    email: Annotated[str, Email("their email address")]
    role: Annotated[str, Choice("a role", ROLES, message=CHOOSE_ROLE)] = "member"


class RoleForm(Form):
    role: Annotated[str, Choice("a role", ROLES, message=CHOOSE_ROLE)]


class InviteAcceptForm(Form):
    """Accepting an invitation: name and password only when the address has no account yet
    (the service knows which, and asks for them then)."""

    token: Annotated[str, Token()]
    name: Annotated[str, Text("your name", 200)] = ""
    password: Annotated[str, Password("a password", required=False, max_length=MAX_LENGTH)] = ""


MAX_RATES = 50
RATE_LINE = re.compile(r"^([A-Za-z]{3})\s*[=:]?\s*([0-9]{1,9}(?:[.,][0-9]{1,10})?)$")


class CurrencyForm(Form):
    """The workspace's default currency and its exchange rates (Company settings, admins):
    one line per currency, "USD 0.92" = one US dollar is 0.92 of the default currency."""

    version: Annotated[int, Version()]
    default_currency: Annotated[
        str,
        Choice(
            "the default currency",
            currencies,
            upper=True,
            message="Choose a currency from the list (ISO 4217 code, like EUR or USD).",
        ),
    ]
    rates: Annotated[str, Text("the exchange rates", 5000, multiline=True)] = ""

    def parsed_rates(self) -> dict[str, Decimal]:
        """{currency: rate}; call after `problems` found none."""
        return parse_rates(self.rates, self.default_currency)[0]

    def problems(self) -> dict[str, str]:
        problem = parse_rates(self.rates, self.default_currency)[1]
        return {"rates": problem} if problem else {}


def parse_rates(text: str, default: str) -> tuple[dict[str, Decimal], str]:
    """The rate lines as {code: rate}, or the first problem with them, said for people."""
    rates: dict[str, Decimal] = {}
    known = currencies()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        found = RATE_LINE.match(line)
        if not found:
            return {}, f"Line {number}: write a currency code and a rate, like “USD 0.92”."
        code, rate = found.group(1).upper(), Decimal(found.group(2).replace(",", "."))
        if code not in known:
            return {}, f"Line {number}: {code} is not a currency code we know (ISO 4217)."
        if code == default:
            return {}, f"Line {number}: {code} is the default currency; it needs no rate."
        if code in rates:
            return {}, f"Line {number}: {code} is listed twice."
        if not Decimal("0.0000000001") <= rate < Decimal(1_000_000_000):
            return {}, f"Line {number}: the rate of {code} must be above 0."
        rates[code] = rate
        if len(rates) > MAX_RATES:
            return {}, f"Up to {MAX_RATES} exchange rates, please."
    return rates, ""
