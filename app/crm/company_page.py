"""A company's page content (details, contacts, deals, invoices, notes, activities, timeline),
kept rendered per web process while nothing it shows changed: a company page then costs one
small read (the company's record version and a few digests) and the kept markup, instead of
reading, decrypting and rendering every note, contact and timeline entry.

What the kept markup shows is decided by the database's rows, the clock and the reader. The
rows: the company's `record_versions.version`, bumped by triggers (migrations/crm 1.45.0, deals
1.46.0, invoices 1.47.0) in the transaction of any change of the company, its notes, tasks and
timeline entries, and the contacts, deals and invoices linked to it; `record_epoch`, bumped
when a person's name or address changes or a person goes (authors, owner, assignees); and a
digest of the versions (`xmin`: the transaction that wrote the row's current version) of the
few workspace rows the page also reads: the company custom fields' definitions, the members
(the assignee choices), the stages of its deals and its activities' participants. All are read
in the page's own transaction, before the parts would be: kept content is at least as new as
the versions it is kept under, and a change committed elsewhere (another process) is seen by
the next page in every process. The clock: an activity's "overdue" badge is decided by the
database's now(), so content is kept for the minute of that now() only. The reader: their time
zone and locale, their id and role (who may delete which note; the default assignee); their
CSRF token is put in at each request (the kept markup holds a placeholder).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
from markupsafe import escape

from app.accounts.schemas import Current
from app.core import formats
from app.core.clock import user_zone
from app.core.db import self_scoped, tenant_transaction
from app.core.errors import RecordNotFound
from app.core.folded import StateRead, path_uuid
from app.core.templating import render_html
from app.crm import companies
from app.crm.contacts import company_contacts
from app.crm.notes import subject_panel
from app.crm.related import company_invoices, related_deals

# Whether the company is there (in this workspace: RLS), its record version (no row: nothing
# changed since versions were kept: 0), the people epoch, digests of the workspace rows the
# page reads beside its own, and the minute of the statement's now(): one statement that sets
# its RLS scope itself (migrations/crm 1.48.0), so a kept page costs one round trip, run by
# `db.self_scoped` (or in the open transaction of the same scope). $1 tenant, $2 user,
# $3 company.
PAGE_STATE = "select * from odex_company_page_state($1, $2, $3)"
# the same read folded into the page's signed-in check (app/core/folded.py)
PAGE_READ = StateRead("company_page", "odex_company_page_state($1, $2, $3)", path_uuid("record_id"))

KEPT_PAGES = 512  # pages kept per process (oldest used dropped first) ...
KEPT_SIZE = 24_000_000  # ... and their markup's size in all (UTF-8 bytes, about)
CONTACTS_SHOWN = 100
# where the reader's CSRF token goes in kept markup: no text from the database can hold it
# (PostgreSQL text has no NUL), and autoescaping leaves it as it is
CSRF_MARK = "\x00odex-csrf\x00"


class PageKey(NamedTuple):
    """Everything a kept page's content depends on."""

    tenant_id: UUID
    company_id: UUID
    version: int  # record_versions.version
    epoch: int  # record_epoch.version (people's names)
    workspace: tuple[str, ...]  # digests: custom fields, members, stages, participants
    minute: int  # the minute of the database's now() it was read at (overdue badges)
    user_id: UUID  # whose notes show a delete button, the default assignee
    is_admin: bool  # admins may delete every note
    prefs: formats.Prefs  # the reader's time zone and locale
    zone: str  # the reader's zone for activity times


@dataclass(frozen=True, slots=True)
class CompanyContent:
    """The page's heading values and its content (UTF-8, CSRF placeholder in place)."""

    company: dict[str, Any]  # id, name, domain, industry: the title, heading and actions
    content: bytes


_kept: OrderedDict[PageKey, CompanyContent] = OrderedDict()
_kept_size = 0


def kept_pages() -> int:
    """How many pages this process keeps (tests)."""
    return len(_kept)


def forget_all() -> None:
    """Drop every kept page (tests)."""
    global _kept_size
    _kept.clear()
    _kept_size = 0


def _keep(key: PageKey, page: CompanyContent) -> None:
    global _kept_size
    if len(page.content) > KEPT_SIZE:
        return
    _kept[key] = page
    _kept_size += len(page.content)
    while len(_kept) > KEPT_PAGES or _kept_size > KEPT_SIZE:
        _, old = _kept.popitem(last=False)
        _kept_size -= len(old.content)


async def _render(
    current: Current, company_id: UUID, extra: dict[str, object] | None = None
) -> CompanyContent:
    """Read every part (inside the caller's tenant transaction) and render the content."""
    company = await companies.get_company(current, company_id)
    panel = await subject_panel(current, "company", company_id)
    panel.update(extra or {})
    ctx = {
        "company": company,
        "panel": panel,
        "contacts": await company_contacts(current, company_id, limit=CONTACTS_SHOWN),
        "deals": await related_deals(current, "company", company_id),
        "invoices": await company_invoices(current, company_id),
        "csrf_token": CSRF_MARK,
        "current": current,
    }
    html = render_html("crm/companies/_page.html", ctx)
    head = {k: company[k] for k in ("id", "name", "domain", "industry")}
    return CompanyContent(head, html.encode())


async def _state(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, company_id: UUID
) -> asyncpg.Record:
    state: asyncpg.Record = await conn.fetchrow(PAGE_STATE, tenant_id, user_id, company_id)
    return state


def _key(current: Current, company_id: UUID, state: asyncpg.Record) -> PageKey:
    """The key the page is kept under (a company not there: RecordNotFound)."""
    if not state["is_there"]:
        raise RecordNotFound("company")
    return PageKey(
        current.tenant_id,
        company_id,
        int(state["record_version"]),
        int(state["people_epoch"]),
        (
            state["fields_digest"],
            state["members_digest"],
            state["stages_digest"],
            state["participants_digest"],
        ),
        int(state["at_minute"]),
        current.user_id,
        current.is_admin,
        formats.current(),
        user_zone(current),
    )


def _with_token(page: CompanyContent, csrf: str) -> CompanyContent:
    token = str(escape(csrf)).encode()
    return CompanyContent(page.company, page.content.replace(CSRF_MARK.encode(), token))


async def company_content(
    current: Current,
    company_id: UUID,
    csrf: str,
    extra: dict[str, object] | None = None,
    folded: list[asyncpg.Record] | None = None,
) -> CompanyContent:
    """A company's page content for `current` (another workspace's or a deleted company:
    RecordNotFound), kept or rendered now (and kept). `extra` (a refused note or activity
    form's values and messages) is rendered now and never kept.

    First the one self-scoped read of the state: when the content kept under it is there,
    that is the whole page's database work (one round trip, no transaction). Otherwise the
    state is read again in the transaction that reads the parts, before them (kept content
    is at least as new as the state it is kept under). `folded`: the state read with the
    signed-in check (`PAGE_READ`), if it was."""
    tenant_id, user_id = current.tenant_id, current.user_id
    if not extra:
        state = folded[0] if folded else None
        if state is None:
            state = await self_scoped(
                tenant_id,
                user_id,
                partial(_state, tenant_id=tenant_id, user_id=user_id, company_id=company_id),
            )
        key = _key(current, company_id, state)
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return _with_token(found, csrf)
    async with tenant_transaction(tenant_id, user_id) as conn:
        if extra:
            page = await _render(current, company_id, extra)
        else:
            key = _key(current, company_id, await _state(conn, tenant_id, user_id, company_id))
            found = _kept.get(key)
            if found is None:
                page = await _render(current, company_id)
                _keep(key, page)
            else:
                _kept.move_to_end(key)
                page = found
    return _with_token(page, csrf)
