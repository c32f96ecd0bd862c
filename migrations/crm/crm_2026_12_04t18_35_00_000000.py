"""Contact phone keys: one row per blind index (keyed HMAC of the digits) of a contact's phone
numbers, so "which contacts have one of these numbers?" is a btree lookup under RLS, as
contact_email_keys (crm_2026_12_04t17_30_00) is for emails.

`contacts.phones_bidx && $2::text[]` cannot use an index for the app role (the array operators
are not leakproof), so the contact search and the duplicate check scanned the workspace's
contacts; `tenant_id = $1 and key = any($2)` is served by this table's primary key.

A tenant table (RLS forced), kept exact by triggers on contacts, which run as the writer under
RLS: after an insert statement the new rows' keys are added (one statement, from the transition
table); after an update of phones_bidx the contact's keys are replaced. A contact's deletion
removes its keys (foreign key, on delete cascade)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-04T18:35:00:000000"
VERSION = "1.43.0"
DESCRIPTION = "contact phone keys (blind indexes) for index lookups under RLS, kept by triggers"

SQL = (
    """
create table contact_phone_keys (
    tenant_id uuid not null,
    key text not null,
    contact_id uuid not null,
    primary key (tenant_id, key, contact_id),
    foreign key (tenant_id, contact_id) references contacts (tenant_id, id) on delete cascade
);
-- the triggers' replacement and the cascade find a contact's keys by this index
create index contact_phone_keys_contact on contact_phone_keys (tenant_id, contact_id);
grant select, insert, update, delete on contact_phone_keys to odex_app;

create function contact_phone_keys_added() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        insert into contact_phone_keys (tenant_id, key, contact_id)
             select distinct n.tenant_id, k.key, n.id
               from new_rows n cross join lateral unnest(n.phones_bidx) as k(key);
        return null;
    end
    $$;

create function contact_phone_keys_changed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        delete from contact_phone_keys
         where tenant_id = new.tenant_id and contact_id = new.id;
        insert into contact_phone_keys (tenant_id, key, contact_id)
             select distinct new.tenant_id, k.key, new.id
               from unnest(new.phones_bidx) as k(key);
        return null;
    end
    $$;

create trigger contact_phone_keys_added after insert on contacts
    referencing new table as new_rows
    for each statement execute function contact_phone_keys_added();
create trigger contact_phone_keys_changed after update of phones_bidx on contacts
    for each row when (old.phones_bidx is distinct from new.phones_bidx)
    execute function contact_phone_keys_changed();
"""
    + tenant_rls("contact_phone_keys")
    + """
-- the contacts already there (RLS unforced for this transaction only: the owner sees them;
-- contacts is locked first so no write lands between the copy and the triggers)
lock table contacts in share row exclusive mode;
alter table contacts no force row level security;
alter table contact_phone_keys no force row level security;
insert into contact_phone_keys (tenant_id, key, contact_id)
    select distinct c.tenant_id, k.key, c.id
      from contacts c cross join lateral unnest(c.phones_bidx) as k(key);
alter table contacts force row level security;
alter table contact_phone_keys force row level security;
"""
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
