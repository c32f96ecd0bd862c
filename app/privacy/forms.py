"""What the privacy pages accept: consent, policy acknowledgement and publishing, deletion."""

from __future__ import annotations

from typing import Annotated

import msgspec

from app.core.forms import Choice, Cursor, Flag, Form, Integer, Password, Prefixed, Text
from app.privacy.consent import SOURCES

SCOPES = ("account", "workspace")
NEXT = Text("the page to open", 2000, lenient=True)


class ConsentForm(Form):
    choice: Annotated[
        str,
        Choice(
            "your choice",
            ("accept", "reject"),
            message="Choose whether to allow analytics cookies.",
        ),
    ]
    source: Annotated[str, Choice("where you chose", SOURCES, lenient=True)] = "banner"
    next: Annotated[str, NEXT] = ""


class AcknowledgeForm(Form):
    # not `version`: the banner is on every page, beside record forms whose `version` field
    # carries the record's version (no-lost-update checks)
    policy_version: Annotated[
        int,
        Integer(
            "the policy version",
            1,
            1_000_000,
            required=True,
            message="That policy version does not exist.",
        ),
    ]
    next: Annotated[str, NEXT] = ""


class ReturnQuery(Form):
    """`?next=…` of the cookie preferences page: where the visitor came from."""

    next: Annotated[str, NEXT] = ""


class PolicyQuery(Form):
    """`/privacy?version=…`: one published version (an unknown one is a 404)."""

    version: Annotated[int | None, Integer("the policy version", 1, 1_000_000)] = None


class PublishForm(Form):
    summary: Annotated[
        str,
        Text(
            "the summary",
            2000,
            required=True,
            multiline=True,
            message="Summarise what changes, in words users will understand.",
        ),
    ]
    effective_at: Annotated[
        str,
        Text(
            "the date it takes effect",
            40,
            required=True,
            message="Enter the date the new version takes effect.",
        ),
    ]
    body_md: Annotated[str, Text("the policy text", 200_000, multiline=True)] = ""


class ExportForm(Form):
    bom: Annotated[bool, Flag("“Excel-friendly”")] = False


class DeletionForm(Form):
    scope: Annotated[str, Choice("what to delete", SCOPES, message="Choose what to delete.")]
    password: Annotated[str, Password()]
    # a sole owner's choice per workspace (`workspace_<id>`: a member's id, or "delete"); the
    # deletion service checks each against the workspace's members
    workspaces: Annotated[
        dict[str, str],
        Prefixed("workspace_", Text("the choice for this workspace", 40), 200, "workspaces"),
    ] = msgspec.field(default_factory=dict)


class CancelDeletion(Form):
    scope: Annotated[str, Choice("what to keep", SCOPES, message="Choose what to keep.")]


class MoreQuery(Form):
    """`?place=…&after=…` of the next page of one My data section."""

    place: Annotated[str, Text("the section", 100, lenient=True)] = ""
    after: Annotated[str | None, Cursor()] = None
