"""Piccolo tables of the crm app (DDL and RLS live in migrations/crm)."""

from piccolo.columns import JSONB, UUID, Array, Date, Integer, Text, Timestamptz
from piccolo.table import Table


class Company(Table, tablename="companies"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    name = Text()
    domain = Text(null=True, default=None)
    industry = Text(null=True, default=None)
    size = Text(null=True, default=None)
    address = Text(null=True, default=None)
    owner_id = UUID(null=True, default=None)
    version = Integer(default=1)  # bumped by every edit (no lost updates)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Contact(Table, tablename="contacts"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    first_name = Text(default="")
    last_name = Text(default="")
    # AES-256-GCM ciphertexts and blind indexes (app/crm/secure.py), never plaintext
    emails_enc = Array(base_column=Text())
    emails_bidx = Array(base_column=Text())
    phones_enc = Array(base_column=Text())
    phones_bidx = Array(base_column=Text())
    title = Text(null=True, default=None)
    company_id = UUID(null=True, default=None)
    owner_id = UUID(null=True, default=None)
    tags = Array(base_column=Text())
    search_text = Text(default="")
    version = Integer(default=1)  # bumped by every edit (no lost updates)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Activity(Table, tablename="activities"):
    """One entry of a record's timeline (append-only)."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    subject_type = Text()
    subject_id = UUID()
    actor_id = UUID(null=True, default=None)
    action = Text()
    summary = Text(default="")
    changes = JSONB(default={})
    created_at = Timestamptz()


class Note(Table, tablename="notes"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    subject_type = Text()
    subject_id = UUID()
    author_id = UUID(null=True, default=None)
    body_enc = Text()  # ciphertext (app/crm/secure.py)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Task(Table, tablename="tasks"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    subject_type = Text()
    subject_id = UUID()
    title = Text()
    due_date = Date(null=True, default=None)
    assignee_id = UUID(null=True, default=None)
    created_by = UUID(null=True, default=None)
    done_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CrmImport(Table, tablename="crm_imports"):
    """An uploaded CSV, its column mapping and the import job's progress."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    user_id = UUID(null=True, default=None)
    kind = Text()
    filename = Text()
    encoding = Text(default="utf-8")
    delimiter = Text(default=",")
    headers = Array(base_column=Text())
    mapping = JSONB(default={})
    status = Text(default="uploaded")
    total_rows = Integer(default=0)
    rows_done = Integer(default=0)
    rows_ok = Integer(default=0)
    rows_failed = Integer(default=0)
    error = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
