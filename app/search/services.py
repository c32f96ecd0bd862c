"""Searching a workspace: contacts, companies, deals, invoices and notes, ranked and grouped by
type (the Ctrl/⌘-K dialog and /search), and the records a form's picker offers.

What is encrypted at rest cannot be searched by substring in the database:
- contacts' emails and phone numbers are AES-GCM ciphertexts with a blind index (a keyed hash
  of the whole value), so an exact address or number finds its contact and a part of one does
  not; for an email-like query the part after "@" is matched against companies' web domains
  (stored in clear, not personal), which finds the company and the people linked to it;
- note bodies are ciphertexts too: the newest `NOTE_SCAN` notes of the workspace are decrypted
  here and searched in memory; older ones are not searched (the page says so).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import msgspec

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.formats import format_money
from app.crm.notes import subject_link
from app.crm.secure import PHONE_QUERY, open_note, search_indexes
from app.search import queries
from app.search.queries import Pattern

MIN_LENGTH = 2  # one character matches nearly everything: ask for one more
PER_GROUP = 6  # results shown per type; the count says how many matched
NOTE_SCAN = 2000  # the newest notes decrypted and searched
PICKS = 20  # records a picker offers at a time
SNIPPET = 60  # characters of a note's text shown either side of the match

INVOICE_QUERY = re.compile(r"^(?:inv-?)?0*([0-9]{1,9})$")
EMAIL_LIKE = re.compile(r"^[^@\s]*@?[^@\s]*\.[^@\s]*$|@")


class Hit(msgspec.Struct, frozen=True):
    """One result as every view shows it: where it goes, its name, a line beside it."""

    href: str
    title: str
    detail: str = ""


class Group(msgspec.Struct, frozen=True):
    """The results of one record type, best first; `total` counts every match."""

    kind: str  # contacts | companies | deals | invoices | notes
    title: str
    icon: str
    total: int
    hits: list[Hit]
    more_href: str = ""  # the type's own list, filtered by the query (when it has one)


class Results(msgspec.Struct, frozen=True):
    query: str
    groups: list[Group]
    too_short: bool = False
    notes_scanned: int = 0

    @property
    def total(self) -> int:
        return sum(g.total for g in self.groups)


def _name(first: str, last: str) -> str:
    return f"{first} {last}".strip() or "(no name)"


def _keys(query: str) -> list[str]:
    """Blind indexes of a query that may be a whole email address or phone number."""
    query = query.strip()
    return search_indexes(query) if "@" in query or PHONE_QUERY.match(query) else []


def _domain_part(query: str) -> str | None:
    """The part of an email-like query that a company's web domain may hold."""
    if not EMAIL_LIKE.search(query):
        return None
    part = query.rpartition("@")[2].strip(".")
    return part if len(part) >= MIN_LENGTH else None


def _snippet(body: str, at: int, length: int) -> str:
    start, end = max(0, at - SNIPPET), min(len(body), at + length + SNIPPET)
    text = " ".join(body[start:end].split())
    return ("…" if start else "") + text + ("…" if end < len(body) else "")


async def search_workspace(current: Current, query: str, per_group: int = PER_GROUP) -> Results:
    """The workspace's records matching `query`, grouped by type (empty groups left out)."""
    query = query.strip()
    if len(query) < MIN_LENGTH:
        return Results(query, [], too_short=bool(query))
    p = Pattern.of(query)
    domain = _domain_part(query)
    found = INVOICE_QUERY.match(query.lower())
    number = int(found.group(1)) if found else None
    more = "?" + urlencode({"q": query})
    groups: list[Group] = []
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        people = await queries.contacts(
            conn,
            current.tenant_id,
            p,
            _keys(query),
            Pattern.of(domain) if domain else None,
            per_group,
        )
        firms = await queries.companies(
            conn, current.tenant_id, Pattern.of(domain) if domain else p, per_group
        )
        deals = await queries.deals(conn, current.tenant_id, p, per_group)
        invoices = (
            await queries.invoices(conn, current.tenant_id, p, number, per_group)
            if any(ch.isdigit() for ch in query)
            else []
        )
        sealed = await queries.recent_notes(conn, current.tenant_id, NOTE_SCAN)
    if people:
        hits = [
            Hit(
                f"/contacts/{c.id}",
                _name(c.first_name, c.last_name),
                " · ".join(x for x in (c.title, c.company_name) if x),
            )
            for c in people
        ]
        groups.append(
            Group("contacts", "Contacts", "person", people[0].total, hits, "/contacts" + more)
        )
    if firms:
        hits = [Hit(f"/companies/{c.id}", c.name, c.domain or "") for c in firms]
        groups.append(
            Group("companies", "Companies", "building", firms[0].total, hits, "/companies" + more)
        )
    if deals:
        hits = [
            Hit(
                f"/deals/{d.id}",
                d.title,
                " · ".join(
                    x
                    for x in (format_money(d.amount, d.currency), d.stage_name, d.company_name)
                    if x
                ),
            )
            for d in deals
        ]
        groups.append(Group("deals", "Deals", "kanban", deals[0].total, hits, "/deals" + more))
    if invoices:
        hits = [
            Hit(
                f"/invoices/{i.id}",
                f"INV-{i.number:05d}",
                " · ".join(
                    x
                    for x in (i.company_name, i.status, format_money(i.total_amount, i.currency))
                    if x
                ),
            )
            for i in invoices
        ]
        groups.append(Group("invoices", "Invoices", "receipt", invoices[0].total, hits))
    notes = _matching_notes(sealed, p.text)
    if notes:
        groups.append(Group("notes", "Notes", "sticky", len(notes), notes[:per_group]))
    return Results(query, groups, notes_scanned=len(sealed))


def _matching_notes(sealed: list[queries.SealedNote], text: str) -> list[Hit]:
    """Notes whose decrypted body holds `text` (case-insensitive), newest first."""
    found: list[Hit] = []
    for note in sealed:
        body = str(open_note(msgspec.structs.asdict(note))["body"])
        at = body.lower().find(text)
        if at < 0:
            continue
        href = subject_link(note.subject_type, note.subject_id) + "#note-form"  # the notes card
        title = f"Note on {note.subject_name or note.subject_type}"
        found.append(Hit(href, title, _snippet(body, at, len(text))))
    return found


# ---- pickers ---------------------------------------------------------------------------------


class Pick(msgspec.Struct, frozen=True):
    """A record a form's picker offers: the value it submits, its label, a hint beside it."""

    id: str
    label: str
    detail: str = ""


PICKERS = ("companies", "contacts", "deals")


async def pick(current: Current, kind: str, query: str) -> list[Pick]:
    """The records of `kind` ("companies", "contacts" or "deals") a picker offers for
    `query` (the first by name when it is empty), best first, no cap on what can be found."""
    p = Pattern.of(query.strip())
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        if kind == "companies":
            firms = await queries.companies(conn, current.tenant_id, p, PICKS)
            return [Pick(str(c.id), c.name, c.domain or "") for c in firms]
        if kind == "contacts":
            people = await queries.contacts(conn, current.tenant_id, p, _keys(query), None, PICKS)
            return [
                Pick(str(c.id), _name(c.first_name, c.last_name), c.company_name or "")
                for c in people
            ]
        deals = await queries.deals(conn, current.tenant_id, p, PICKS)
        return [Pick(str(d.id), d.title, d.company_name or "") for d in deals]
