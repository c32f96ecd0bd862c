"""Piccolo column types the migrations use and Piccolo does not ship, and the column mixins
the tables share: plain classes holding columns, listed before ``Table``
(``class Deal(TenantRecord, Table, tablename="deals")``); Piccolo copies a
mixin's columns into each table that uses it."""

from __future__ import annotations

from piccolo.columns import UUID, Integer, Text, Timestamptz, Varchar


class Char(Varchar):
    """`char(n)` (PostgreSQL's bpchar): fixed-length codes such as ISO 4217 currencies."""

    @property
    def column_type(self) -> str:
        return f"CHAR({self.length})" if self.length else "CHAR"


class UuidKey:
    """A row keyed by a UUID (made by the app, or by the database's default)."""

    id = UUID(primary_key=True)


class TenantRow(UuidKey):
    """A row of a tenant table (RLS on ``tenant_id``) with a UUID key."""

    tenant_id = UUID()


class Versioned:
    """A record edited by people: ``version`` is bumped by every edit (no lost updates)."""

    version = Integer(default=1)


class Created:
    """A row that records when it was written."""

    created_at = Timestamptz()


class Stamped(Created):
    """A row that records when it was written and last changed."""

    updated_at = Timestamptz()


class TenantRecord(TenantRow, Versioned, Stamped):
    """A tenant's record that people edit (a company, contact, deal, invoice…): its key, its
    tenant, its version and when it was written and last changed."""


class OnRecord:
    """An entry on a record's page (a timeline entry, note or task): the record it is about."""

    subject_type = Text()  # company | contact | deal
    subject_id = UUID()


class Finished:
    """A piece of work that ends (a job, an export, a backup, a delivery): when it finished,
    and why it failed if it did."""

    error = Text(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)


class Acknowledged:
    """An alert someone must look at: when it was acknowledged, and by whom."""

    acknowledged_at = Timestamptz(null=True, default=None)
    acknowledged_by = UUID(null=True, default=None)


class Revocable:
    """A grant that lapses (an invitation, an API token): when it expires, and when it was
    revoked, if it was."""

    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
