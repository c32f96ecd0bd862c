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
from typing import Any, NamedTuple
from uuid import UUID

from markupsafe import escape

from app.accounts.schemas import Current
from app.core import formats
from app.core.clock import user_zone
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.core.templating import render_html
from app.crm import companies
from app.crm.contacts import company_contacts
from app.crm.notes import subject_panel
from app.crm.related import company_invoices, related_deals

# Whether the company is there (in this workspace: RLS), its record version (no row: nothing
# changed since versions were kept: 0), the people epoch, digests of the workspace rows the
# page reads beside its own, and the minute of the transaction's now(). $1 company, $2 tenant.
PAGE_STATE = """
select exists (select 1 from companies c where c.id = $1) as found,
       coalesce((select v.version from record_versions v
                 where v.subject_type = 'company' and v.subject_id = $1), 0) as version,
       (select e.version from record_epoch e where e.id = 1) as epoch,
       (select md5(coalesce(string_agg(f.id::text || '.' || f.xmin::text, ',' order by f.id), ''))
        from custom_fields f where f.tenant_id = $2 and f.object_kind = 'company') as fields,
       (select md5(coalesce(string_agg(m.user_id::text || '.' || m.xmin::text, ','
                                       order by m.user_id), ''))
        from memberships m where m.tenant_id = $2) as members,
       (select md5(coalesce(string_agg(s.id::text || '.' || s.xmin::text, ',' order by s.id), ''))
        from stages s where s.id in (select d.stage_id from deals d
                                     where d.tenant_id = $2 and d.company_id = $1)) as stages,
       (select md5(coalesce(string_agg(p.id::text || '.' || p.xmin::text, ',' order by p.id), ''))
        from contacts p where p.id in (select unnest(t.participant_ids) from tasks t
                                       where t.tenant_id = $2 and t.subject_type = 'company'
                                         and t.subject_id = $1)) as participants,
       floor(extract(epoch from now()) / 60)::bigint as minute
"""

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


async def company_content(
    current: Current, company_id: UUID, csrf: str, extra: dict[str, object] | None = None
) -> CompanyContent:
    """A company's page content for `current` (another workspace's or a deleted company:
    RecordNotFound), kept or rendered now (and kept). `extra` (a refused note or activity
    form's values and messages) is rendered now and never kept."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        if extra:
            page = await _render(current, company_id, extra)
        else:
            state = await conn.fetchrow(PAGE_STATE, company_id, current.tenant_id)
            if not state["found"]:
                raise RecordNotFound("company")
            key = PageKey(
                current.tenant_id,
                company_id,
                int(state["version"]),
                int(state["epoch"]),
                (state["fields"], state["members"], state["stages"], state["participants"]),
                int(state["minute"]),
                current.user_id,
                current.is_admin,
                formats.current(),
                user_zone(current),
            )
            found = _kept.get(key)
            if found is None:
                page = await _render(current, company_id)
                _keep(key, page)
            else:
                _kept.move_to_end(key)
                page = found
    token = str(escape(csrf)).encode()
    return CompanyContent(page.company, page.content.replace(CSRF_MARK.encode(), token))
