"""Attachments: files on contacts, companies, deals and invoices (tenant data under RLS; the
bytes are encrypted files under the data dir, this row says what they are)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-02T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "attachments"

SQL = (
    """
create table attachments (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    subject_type text not null check (subject_type in ('contact', 'company', 'deal', 'invoice')),
    subject_id uuid not null,
    file_name text not null check (length(file_name) between 1 and 255),
    content_type text not null check (length(content_type) between 1 and 100),
    size_bytes bigint not null check (size_bytes >= 0),
    sha256 text not null check (length(sha256) = 64),
    has_thumbnail boolean not null default false,
    uploaded_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    unique (tenant_id, id)
);
-- a record's files, newest first
create index attachments_subject on attachments
    (tenant_id, subject_type, subject_id, created_at desc);
-- a member's own files (their data export)
create index attachments_uploader on attachments (tenant_id, uploaded_by);
"""
    + tenant_rls("attachments")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "attachments", DESCRIPTION, SQL)
