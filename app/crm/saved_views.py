"""Saved views: a member names the view of a list they are looking at (its query string) and
keeps it private or shares it with the workspace. Anyone sees their own and the shared ones;
the author renames and deletes theirs, admins also the shared ones of others."""

from __future__ import annotations

import uuid
from typing import Annotated
from uuid import UUID

import msgspec
from piccolo.querystring import QueryString

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.forms import Choice, Flag, Form, Text
from app.crm.common import insert_mine
from app.crm.filters import CompanyView, ContactView, DealView, ListView, parse_view, view_query
from app.crm.tables import SavedView

VIEW_SCHEMAS: dict[str, type[ListView]] = {
    "contacts": ContactView,
    "companies": CompanyView,
    "deals": DealView,
}
LIST_PATHS = {"contacts": "/contacts", "companies": "/companies", "deals": "/deals/list"}
MAX_VIEWS = 100  # per list and member: the bar above a list stays a bar


class SaveView(Form, kw_only=True):
    """Save the view shown (its query string) under a name."""

    kind: Annotated[str, Choice("the list", tuple(VIEW_SCHEMAS))]
    name: Annotated[str, Text("the view's name", 100, required=True)]
    query: Annotated[str, Text("the view", 4000)] = ""
    shared: Annotated[bool, Flag("shared with the workspace")] = False


class RenameView(Form, kw_only=True):
    name: Annotated[str, Text("the view's name", 100, required=True)]


class Saved(msgspec.Struct, frozen=True):
    """A saved view as the bar above a list shows it."""

    id: UUID
    name: str
    query: str
    shared: bool
    user_id: UUID
    mine: bool
    can_change: bool
    url: str


def _can_change(current: Current, user_id: UUID, shared: bool) -> bool:
    return user_id == current.user_id or (shared and current.is_admin)


class SavedRow(msgspec.Struct, frozen=True):
    """A saved view as stored (read with the list page: app/crm/list_frame.py)."""

    id: UUID
    name: str
    query: str
    shared: bool
    user_id: UUID


def saved_views(current: Current, kind: str, rows: list[SavedRow]) -> list[Saved]:
    """The bar's views of the list `kind` ("contacts") from their stored rows: links, and
    which ones the member may change."""
    base = LIST_PATHS[kind]
    return [
        Saved(
            id=r.id,
            name=r.name,
            query=r.query,
            shared=r.shared,
            user_id=r.user_id,
            mine=r.user_id == current.user_id,
            can_change=_can_change(current, r.user_id, r.shared),
            url=f"{base}?{r.query}{'&' if r.query else ''}view={r.id}",
        )
        for r in rows
    ]


def clean_query(kind: str, query: str) -> str:
    """The view's query string as the list reads it, written back in a stable form (a bad
    one is refused: what is saved always opens)."""
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:
        raise FormInvalid({"query": "That view can't be saved. Reload the list."}) from exc
    try:
        view = parse_view(VIEW_SCHEMAS[kind], pairs)
    except FormInvalid as exc:
        raise FormInvalid({"query": "Fix the filters before saving the view."}) from exc
    return view_query(view)


async def save_view(current: Current, form: SaveView) -> UUID:
    query = clean_query(form.kind, form.query)
    view_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id):
        count = await SavedView.count().where(
            (SavedView.user_id == current.user_id) & (SavedView.kind == form.kind)
        )
        if count >= MAX_VIEWS:
            raise FormInvalid({"name": f"You have {MAX_VIEWS} views of this list. Delete one."})
        await insert_mine(
            SavedView,
            current,
            view_id,
            kind=form.kind,
            name=form.name,
            query=query,
            shared=form.shared,
        )
    return view_id


async def _changeable(current: Current, view_id: UUID) -> dict[str, object]:
    """The view, locked, if the member may change it (else RecordNotFound: someone else's
    private view is not there for them; a shared one of another member is refused)."""
    row = await SavedView.select().where(SavedView.id == view_id).lock_rows().first()
    if row is None or not (row["shared"] or row["user_id"] == current.user_id):
        raise RecordNotFound("view")
    if not _can_change(current, row["user_id"], row["shared"]):
        raise FormInvalid({"form": "Only its author or an admin can change a shared view."})
    return row


async def rename_view(current: Current, view_id: UUID, name: str) -> str:
    """Rename the view; returns its list's kind."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        row = await _changeable(current, view_id)
        await SavedView.update(
            {SavedView.name: name, SavedView.updated_at: QueryString("now()")}
        ).where(SavedView.id == view_id)
    return str(row["kind"])


async def delete_view(current: Current, view_id: UUID) -> str:
    """Delete the view; returns its list's kind."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        row = await _changeable(current, view_id)
        await SavedView.delete().where(SavedView.id == view_id)
    return str(row["kind"])
