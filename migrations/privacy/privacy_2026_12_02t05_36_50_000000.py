"""Privacy: deletion reports, account deletion with the sole-owned workspaces, export scope."""

from app.core.migrations import sql_migration

ID = "2026-12-02T05:36:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "deletion reports, workspace deletion with an account, export's browser id"

SQL = """
-- A workspace deletion a sole owner chose together with their account's deletion: cancelling
-- the account's deletion cancels it too.
alter table deletion_requests add column with_account uuid;
create index deletion_requests_with_account on deletion_requests (with_account)
    where with_account is not null;
-- The browser the export was asked from: the consents file lists the same entries as the
-- My data page (the user's and this browser's).
alter table exports add column visitor_id text check (length(visitor_id) <= 64);
-- Proof of consent is kept while the account exists and deleted with it (it names the person
-- and their IP address): the app role still may not delete from the ledger, but this tiny
-- function removes the entries of an account that no longer exists (and of the browsers it
-- gave them from), nothing else.
create or replace function odex_private.forget_consents(person uuid) returns bigint
    language sql volatile security definer set search_path = ''
    as $$
    with gone as (
        delete from public.consents c
         where not exists (select 1 from public.users u where u.id = person)
           and (c.user_id = person or c.visitor_id in (
                select x.visitor_id from public.consents x
                 where x.user_id = person and x.visitor_id is not null))
        returning 1)
    select count(*) from gone
    $$;
revoke all on function odex_private.forget_consents(uuid) from public;
grant execute on function odex_private.forget_consents(uuid) to odex_app;
-- Global: the result of scanning every place on the data map after a purge or an account
-- deletion. It names places and counts, never the data or the subject's address; the deletion
-- request it belongs to keeps only ids and dates.
create table deletion_reports (
    id uuid primary key,
    request_id uuid not null,
    scope text not null check (scope in ('account', 'workspace')),
    clean boolean not null,
    places_checked integer not null,
    findings jsonb not null default '[]',
    kept jsonb not null default '[]',
    created_at timestamptz not null default now()
);
create index deletion_reports_request on deletion_reports (request_id, created_at desc);
create index deletion_reports_recent on deletion_reports (created_at desc);
revoke update, delete, truncate on deletion_reports from odex_app;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "privacy", DESCRIPTION, SQL)
