"""The input layer (app/core/forms): every field's problem reported at once, in words that say
what to fix; hostile values refused where they enter; the issue's 500s now 422 or 403."""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import pytest

from app.core.errors import FormInvalid
from app.core.forms import (
    Amount,
    Choice,
    Day,
    Emails,
    Form,
    Integer,
    Ref,
    Refs,
    Tags,
    Text,
    Version,
    parse,
)
from tests.helpers import Account


class Sample(Form):
    name: Annotated[str, Text("the name", 20, required=True)]
    note: Annotated[str, Text("the note", 50, multiline=True)] = ""
    emails: Annotated[list[str], Emails()] = []
    tags: Annotated[list[str], Tags()] = []
    amount: Annotated[Decimal, Amount("the amount", Decimal(10**6), default=Decimal(0))] = Decimal(
        0
    )
    count: Annotated[int | None, Integer("the count", 1, 10)] = None
    when: Annotated[date | None, Day("the date")] = None
    kind: Annotated[str, Choice("a kind", ("a", "b"))] = "a"
    ref: Annotated[UUID | None, Ref("Choose one from the list.")] = None
    refs: Annotated[list[UUID], Refs("Choose from the list.", 2)] = []
    version: Annotated[int, Version()] = 1


def refused(values: dict[str, Any]) -> FormInvalid:
    with pytest.raises(FormInvalid) as caught:
        parse(Sample, {"version": "1", **values})
    return caught.value


def test_clean_values_are_trimmed_and_typed() -> None:
    form = parse(
        Sample,
        {
            "name": "  Ada \t\n Lovelace ",
            "note": " line one\r\nline two\t(tab kept) ",
            "emails": "a@example.com; B@example.com,a@example.com",
            "tags": ["vip", "VIP", "  new  "],
            "amount": "1 234,50",
            "count": "7",
            "when": "2026-02-28",
            "kind": "b",
            "ref": "0c2f4c5e-1111-4a4a-9b9b-000000000001",
            "refs": ["0c2f4c5e-1111-4a4a-9b9b-000000000001"] * 2,
            "version": "3",
        },
    )
    assert form.name == "Ada Lovelace"  # whitespace collapsed on one line
    assert form.note == "line one\nline two\t(tab kept)"  # kept in multiline text, CRLF -> LF
    assert form.emails == ["a@example.com", "B@example.com"] and form.tags == ["vip", "new"]
    assert form.amount == Decimal("1234.50") and form.count == 7 and form.version == 3
    assert form.when == date(2026, 2, 28) and form.kind == "b" and len(form.refs) == 1


def test_every_problem_is_reported_at_once_with_what_to_fix() -> None:
    exc = refused(
        {
            "name": "a\x00b",
            "note": "x" * 51,
            "emails": "ok@example.com, nope",
            "amount": "NaN",
            "count": "11",
            "when": "2026-13-45",
            "kind": "c",
            "ref": "not-a-uuid",
            "refs": [f"0c2f4c5e-1111-4a4a-9b9b-00000000000{i}" for i in range(3)],
        }
    )
    assert exc.errors == {
        "name": "The name contains an invisible control character (U+0000). Remove it and try"
        " again.",
        "note": "The note can be at most 50 characters (this one has 51).",
        "emails": "“nope” is not a valid email address (like name@company.com).",
        "amount": "Enter the amount as a number with up to two decimals, like 12500.00.",
        "count": "Enter the count as a whole number from 1 to 10.",
        "when": "Enter the date as a date (YYYY-MM-DD).",
        "kind": "Choose a kind from the list.",
        "ref": "Choose one from the list.",
        "refs": "Choose at most 2.",
    }
    # what was typed comes back (printable: the NUL shown as U+FFFD, never a broken page)
    assert exc.values is not None and exc.values["name"] == "a\ufffdb"
    assert exc.values["note"] == "x" * 51


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "\ud800", "broken character"),  # a lone surrogate
        ("name", "\x1b[31mred", "control character (U+001B)"),
        ("name", "\u0085", "control character (U+0085)"),
        ("note", "bell\x07", "control character (U+0007)"),
        ("name", "   ", "Enter the name."),
        ("name", "x" * 100_000, "at most 20 characters (this one has 100000)"),
        ("amount", "-1e309", "up to two decimals"),
        ("amount", "inf", "up to two decimals"),
        ("amount", "-5", "can't be negative"),
        ("amount", "1000000.01", "too large"),
        ("count", "٣", "whole number"),  # not an ASCII digit
        ("when", "1800-01-01", "between the years 1900 and 2200"),
    ],
)
def test_hostile_values_are_refused_with_a_message(field: str, value: str, message: str) -> None:
    assert message in refused({"name": "ok", field: value}).errors[field]


def test_repeated_single_fields_and_bad_versions_say_so() -> None:
    exc = refused({"name": ["one", "two"], "version": "NaN"})
    assert exc.errors["name"] == "The name was sent more than once. Send it once."
    # the version is a hidden input: its message goes to the top of the form
    assert "out of date" in exc.errors["form"]
    assert parse(Sample, {"name": ["same", "same"], "version": "1"}).name == "same"


def test_rtl_emoji_and_combining_marks_are_kept() -> None:
    for text in ("مرحبا", "👩\u200d👩\u200d👧", "e\u0301", "\u202ertl"):
        assert parse(Sample, {"name": text, "version": "1"}).name == text


async def test_the_issue_500s_are_422_or_403(client_a: Any, tenant_a: Account) -> None:
    """The report's list: NUL in searches, filters and names; a non-ASCII CSRF token."""
    for path in ("/contacts", "/companies", "/deals", "/settings/audit"):
        for variant in ({}, {"HX-Request": "true"}):
            response = await client_a.get(path, params={"q": "a\x00b"}, headers=variant)
            assert response.status_code == 422, (path, variant, response.text[:300])
            assert "control character" in html.unescape(response.text)
    for field in ("action", "actor"):
        bad = await client_a.get("/settings/audit", params={field: "\x00"})
        assert bad.status_code == 422
    posts = [
        ("/settings/profile", {"section": "name", "name": "Ada\x00"}, "name"),
        ("/settings/company", {"company": "Acme\x00"}, "company"),
        ("/deals/pipelines", {"name": "Sales\x00"}, "form"),
        ("/contacts/new", {"first_name": "Ada", "tags": "vip,\x00"}, "tags"),
        ("/companies/new", {"name": "Acme", "address": "Street 1\n\x00"}, "address"),
    ]
    for path, data, _ in posts:
        for htmx in (False, True):
            response = await client_a.post_form(path, data, htmx=htmx)
            assert response.status_code == 422, (path, response.text[:300])
            assert "control character (U+0000)" in html.unescape(response.text), path
    stages = await client_a.get("/deals/pipelines")
    stage = stages.text.split('action="/deals/stages/')[1].split('"')[0]
    renamed = await client_a.post_form(
        f"/deals/stages/{stage}", {"name": "Lead\x00", "kind": "open", "version": "1"}
    )
    assert renamed.status_code == 422 and "control character" in html.unescape(renamed.text)
    for csrf in ("é", "\u202e", "ﬀ"):
        form = await client_a.post(
            "/contacts/new", data={"first_name": "X", "_csrf": csrf}, headers={}
        )
        assert form.status_code == 403 and "form expired" in form.text
        header = await client_a.post(
            "/contacts/new", data={"first_name": "X"}, headers={"X-CSRF-Token": csrf.encode()}
        )
        assert header.status_code == 403
    # a multipart body that can't be parsed (bad UTF-8, no closing boundary) holds no token
    # either: the answer is the CSRF refusal, not a 400 about the body
    broken = [
        b'--b\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n\xc3\r\n--b\r\n'
        b'Content-Disposition: form-data; name="file"; filename="\xff\xfe"\r\n\r\nx',
        b"--b\r\nnot a part at all",
    ]
    for body in broken:
        for htmx in ({}, {"HX-Request": "true"}):
            refused = await client_a.post(
                "/contacts/new",
                content=body,
                headers={"Content-Type": "multipart/form-data; boundary=b", **htmx},
            )
            assert refused.status_code == 403, (body, refused.status_code, refused.text[:200])
            assert "form expired" in refused.text
    assert "No contacts yet" in (await client_a.get("/contacts")).text  # nothing was stored
