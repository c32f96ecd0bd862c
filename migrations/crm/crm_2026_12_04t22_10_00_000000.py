"""Record versions: a counter per company that changes whenever anything its page shows
changes, so each web process can keep the page's rendered content and reuse it while the
counter (read in the page's own transaction) stays the same (app/crm/company_page.py).

`record_versions` is a tenant table (RLS forced), one row per record that has changed since
this migration (a missing row reads as 0: nothing changed since, nothing kept was stale). It is
bumped, in the writer's transaction, after a change of: the company itself (an update; its
deletion deletes its row), its notes, tasks and timeline entries (subject 'company'), and the
contacts linked to it (insert, update, delete; the deals' and invoices' triggers are in their
apps' migrations, 1.46.0 and 1.47.0, calling `record_bump`). People's names (note authors, the owner, assignees) are global
(users) and bump `record_epoch`, one platform-wide counter, instead. What the page shows from the
workspace at large (custom field definitions, members, the deals' stages, activity
participants' names) is read beside the counter, as a digest of those few rows' versions.

The bumps run as deferred constraint triggers, at commit, so that the counter's row is locked
last, after every row the transaction writes (as the boards' counters, deals 1.42.0).
`odex.records_bumped` (transaction-local) remembers the records bumped so that a 10,000-row
statement on one company bumps it once (the triggers search it before they call the bump); it
stops growing past ~900 records (a bulk change of more companies bumps each of the later ones
once per row: the string search stays short). The
triggers run as the writer, under RLS: a change made without the record's workspace scope bumps
nothing (the app never writes tenant rows without it; a workspace's purge removes its pages)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-04T22:10:00:000000"
VERSION = "1.45.0"
DESCRIPTION = "record versions (per company, bumped by triggers) for the kept company page"

SQL = (
    """
create table record_versions (
    subject_type text not null,
    subject_id uuid not null,
    tenant_id uuid not null references tenants (id) on delete cascade,
    version bigint not null default 0,
    primary key (subject_type, subject_id)
);
create index record_versions_tenant on record_versions (tenant_id);
grant select, insert, update, delete on record_versions to odex_app;

-- one row, no tenant's data: bumped when a person's name or address changes, or a person goes
create table record_epoch (
    id smallint primary key check (id = 1),
    version bigint not null default 0
);
insert into record_epoch (id, version) values (1, 0);
grant select, update on record_epoch to odex_app;
revoke insert, delete on record_epoch from odex_app;

create function record_bump(tenant uuid, kind text, subject uuid) returns void
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    declare
        done text := coalesce(current_setting('odex.records_bumped', true), '');
        mark text := kind || ':' || subject::text;
    begin
        if subject is null or strpos(done, mark) > 0 then
            return;
        end if;
        -- only inside the record's own workspace's scope (RLS would refuse the row otherwise),
        -- and only while the record is there: a deleted company's row is deleted with it (a
        -- cascade's later bumps, its contacts unlinked, add none back), and a workspace's purge
        -- (the companies gone first) adds none for a workspace that is no more
        if tenant::text is distinct from nullif(current_setting('app.tenant_id', true), '')
           or (kind = 'company' and not exists (select 1 from companies c where c.id = subject))
        then
            return;
        end if;
        insert into record_versions (subject_type, subject_id, tenant_id, version)
            values (kind, subject, tenant, 1)
            on conflict (subject_type, subject_id)
            do update set version = record_versions.version + 1;
        if length(done) < 40000 then
            perform set_config('odex.records_bumped', done || mark || ' ', true);
        end if;
    end
    $$;

-- a note, task or timeline entry: the company it is on
create function record_subject_changed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        if tg_op <> 'INSERT' and old.subject_type = 'company' and strpos(
            coalesce(current_setting('odex.records_bumped', true), ''),
            'company:' || old.subject_id::text
        ) = 0 then
            perform record_bump(old.tenant_id, 'company', old.subject_id);
        end if;
        if tg_op <> 'DELETE' and new.subject_type = 'company' and strpos(
            coalesce(current_setting('odex.records_bumped', true), ''),
            'company:' || new.subject_id::text
        ) = 0 then
            perform record_bump(new.tenant_id, 'company', new.subject_id);
        end if;
        return null;
    end
    $$;

-- a contact, deal or invoice: the company it is (or was) linked to
create function record_company_linked() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        -- the test before the call: a 10,000-row statement on a few companies costs a string
        -- search per row, not a function call
        if tg_op <> 'INSERT' and old.company_id is not null and strpos(
            coalesce(current_setting('odex.records_bumped', true), ''),
            'company:' || old.company_id::text
        ) = 0 then
            perform record_bump(old.tenant_id, 'company', old.company_id);
        end if;
        if tg_op <> 'DELETE' and new.company_id is not null and strpos(
            coalesce(current_setting('odex.records_bumped', true), ''),
            'company:' || new.company_id::text
        ) = 0 then
            perform record_bump(new.tenant_id, 'company', new.company_id);
        end if;
        return null;
    end
    $$;

create function record_company_changed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        if tg_op = 'DELETE' then
            delete from record_versions where subject_type = 'company' and subject_id = old.id;
        else
            perform record_bump(old.tenant_id, 'company', old.id);
        end if;
        return null;
    end
    $$;

create function record_person_changed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        update record_epoch set version = version + 1 where id = 1;
        return null;
    end
    $$;

create constraint trigger record_company_changed after update or delete on companies
    deferrable initially deferred for each row execute function record_company_changed();

create constraint trigger record_contact_added after insert on contacts
    deferrable initially deferred for each row when (new.company_id is not null)
    execute function record_company_linked();
create constraint trigger record_contact_changed after update on contacts
    deferrable initially deferred for each row
    when ((old.company_id is not null or new.company_id is not null)
          and old.* is distinct from new.*)
    execute function record_company_linked();
create constraint trigger record_contact_removed after delete on contacts
    deferrable initially deferred for each row when (old.company_id is not null)
    execute function record_company_linked();

create constraint trigger record_user_renamed after update of name, email on users
    deferrable initially deferred for each row
    when (old.name is distinct from new.name or old.email is distinct from new.email)
    execute function record_person_changed();
-- a deleted login clears its tasks' assignee and its notes' author (cascades that may run
-- without any workspace's scope, so no record version would be bumped)
create constraint trigger record_user_deleted after delete on users
    deferrable initially deferred for each row execute function record_person_changed();
"""
    + "".join(
        f"""
create constraint trigger record_{table}_added after insert on {table}
    deferrable initially deferred for each row when (new.subject_type = 'company')
    execute function record_subject_changed();
create constraint trigger record_{table}_changed after update on {table}
    deferrable initially deferred for each row
    when (old.subject_type = 'company' or new.subject_type = 'company')
    execute function record_subject_changed();
create constraint trigger record_{table}_removed after delete on {table}
    deferrable initially deferred for each row when (old.subject_type = 'company')
    execute function record_subject_changed();
"""
        for table in ("notes", "tasks", "activities")
    )
    + tenant_rls("record_versions")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
