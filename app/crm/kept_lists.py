"""A contact or company list page's result (its rows, cursors and count) kept per web process
while nothing it shows changed: a list page or search then reads no rows (a search of 100k
contacts cost ~3 ms of PostgreSQL a page) and builds none, for every member who opens it. And
the page's rendered content (filter form and results, or the results htmx asks for) kept per
reader under the list's state as read (`list_state`, app/crm/list_frame.py: the versions
below, digests of the memberships and of the reader's saved views), the query string, the
reader's id, role, locale and zone: a page shown before costs that one self-scoped statement
(no transaction) and the layout.

What a page's result shows is decided by the database's rows and the view asked for. The rows:
the workspace's list version (`dashboard_versions.lists`, bumped by triggers, migrations/invoices
1.48.0, in the transaction of any change of its contacts, companies or custom field definitions:
everything the lists' SQL reads, their search grams, key tables and record counts being kept by
triggers on those rows) and `record_epoch` (people's names: the owner column). Both are read
with the frame in the page's own transaction, before the rows would be: a kept result is at least
as new as the versions it is kept under, and a change committed elsewhere (another process, or
SQL) bumped them at its commit, so the next page in every process reads again. The view: the
whole of it as read from the query string (search, filters, order, cursors, columns; a filter's
member is named by id, and an email or phone search's blind indexes follow from its text).
The result is the same for every member (the lists' rows are the workspace's, RLS by tenant);
what is per reader (the saved views, the CSRF token) is not in it."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import NamedTuple, TypeVar
from uuid import UUID

import msgspec

from app.accounts.schemas import Current
from app.core import formats
from app.core.kept import Kept
from app.core.paging import Page
from app.crm.filters import ListView
from app.crm.list_frame import ListFrame, ListState

KEPT_PAGES = 256  # page results kept per process (oldest used dropped first) ...
KEPT_SIZE = 24_000_000  # ... and their size in all (bytes, about: `result_size`)
_encode_view = msgspec.json.Encoder().encode
View = TypeVar("View", bound=ListView)


class ListKey(NamedTuple):
    """Everything a kept page result depends on."""

    tenant_id: UUID
    kind: str  # "contact" | "company"
    lists: int  # dashboard_versions.lists
    epoch: int  # record_epoch.version (owners' names)
    view: bytes  # the view as asked (search, filters, order, cursors), JSON


_kept: Kept[ListKey, Page] = Kept(KEPT_PAGES, KEPT_SIZE)


class ContentKey(NamedTuple):
    """Everything a kept list content depends on: the list's state as read (`list_state`: the
    list and people versions, digests of the memberships and of the reader's saved views;
    the custom fields bump the list version), the query string (the whole view, parsed the
    same every time), the part (the content or htmx's results), the reader's id and role
    (their saved views' buttons), locale and zone."""

    tenant_id: UUID
    kind: str
    state: ListState
    query: str
    block: str
    user_id: UUID
    is_admin: bool
    prefs: formats.Prefs


KEPT_CONTENTS = 512  # rendered contents kept per process (~30-60 kB each) ...
KEPT_CONTENT_SIZE = 24_000_000  # ... and their size in all (UTF-8 bytes)
# each content cut at its CSRF marks (app.core.kept.csrf_split)
_contents: Kept[ContentKey, tuple[bytes, ...]] = Kept(KEPT_CONTENTS, KEPT_CONTENT_SIZE)


def content_key(
    current: Current, kind: str, state: ListState, query: str, block: str
) -> ContentKey:
    """The key of a list content shown to `current` (`state`: `list_state` as read now)."""
    prefs = formats.current()
    return ContentKey(
        current.tenant_id, kind, state, query, block, current.user_id, current.is_admin, prefs
    )


def kept_content(key: ContentKey) -> tuple[bytes, ...] | None:
    """The content kept under `key` (UTF-8, cut at CSRF_MARK: app.core.kept.csrf_joined puts
    the reader's token in), or None."""
    return _contents.get(key)


def keep_content(key: ContentKey, content: tuple[bytes, ...]) -> None:
    """Keep a content rendered from what `key` says (and nothing else), cut at its CSRF marks;
    its size counts the key's query string too (a view's may be long). Nothing is kept without
    a list version."""
    if key.state.lists is not None:
        _contents.put(key, content, sum(map(len, content)) + len(key.query))


def kept_contents() -> int:
    """How many rendered contents this process keeps (tests)."""
    return len(_contents)


def kept_pages() -> int:
    """How many page results this process keeps (tests)."""
    return len(_kept)


def kept_size() -> int:
    """Their size in all, as `result_size` counts it (tests)."""
    return _kept.bytes


def forget_all() -> None:
    """Drop every kept page result and content (tests)."""
    _kept.clear()
    _contents.clear()


def result_size(page: Page) -> int:
    """About how many bytes a page result holds: its rows' dicts and values (a sealed email's
    ciphertext, a list's items), the cursors."""
    size = sys.getsizeof(page.rows) + sum(
        len(c or "") for c in (page.next_cursor, page.prev_cursor)
    )
    for row in page.rows:
        size += sys.getsizeof(row)
        for value in row.values():
            size += sys.getsizeof(value)
            if isinstance(value, list | tuple):
                size += sum(sys.getsizeof(getattr(v, "value", v)) + 56 for v in value)
    return size


async def kept_page(
    current: Current,
    kind: str,
    view: View,
    frame: ListFrame,
    read: Callable[[Current, View], Awaitable[Page]],
) -> Page:
    """The page of the list of `kind` that `view` asks for: kept under the versions `frame`
    read (in this transaction, before), or `read` now (in the caller's transaction) and kept.
    A page that cannot be read (a refused view) raises and keeps nothing. Treat the page as
    read-only: it is shared by every later reader."""
    if frame.lists is None:  # no version row (never expected): read each time
        return await read(current, view)
    key = ListKey(current.tenant_id, kind, frame.lists, frame.epoch, _encode_view(view))
    page = _kept.get(key)
    if page is None:
        page = await read(current, view)
        _kept.put(key, page, result_size(page) + len(key.view))
    return page
