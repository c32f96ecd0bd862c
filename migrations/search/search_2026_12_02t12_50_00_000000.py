"""Search: an index the app role can use under row-level security.

PostgreSQL uses an operator as an index condition on a table with RLS only when it is
LEAKPROOF (else it could see rows the policy hides before the policy is applied): LIKE,
pg_trgm's similarity and the array operators are not, so a GIN trigram index on contacts is
never used by odex_app (checked with EXPLAIN), and only a superuser may mark them leakproof.
Equality on text is leakproof: `search_grams` keeps, per record, the three-character pieces of
every word of its searchable text (names and title of a contact, name and web domain of a
company, title of a deal), kept by triggers; a substring query looks up its own pieces with `=`
on the (tenant_id, kind, gram) btree and rechecks the LIKE on the few records found. pg_trgm
stays for `similarity()` in the ranking. The table is a tenant table (RLS forced, cascades with
the tenant and, through the triggers, with each record)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-02T12:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "search: pg_trgm, search_grams kept by triggers"

SQL = (
    """
-- trusted (PostgreSQL 13+): the database's owner, odex_owner, may create it
create extension if not exists pg_trgm;

-- the three-character pieces of each word (runs of letters and digits) of `source`,
-- lower-cased; the app computes a query's pieces with the same function
create function search_grams_of(source text) returns text[]
    language sql immutable parallel safe
    set search_path = pg_catalog
    as $$
        select coalesce(array_agg(distinct substr(w, i, 3)), '{}')
          from regexp_split_to_table(lower(coalesce(source, '')), '[^[:alnum:]]+') as w,
               generate_series(1, length(w) - 2) as i
    $$;

create table search_grams (
    tenant_id uuid not null references tenants (id) on delete cascade,
    kind text not null check (kind in ('contact', 'company', 'deal')),
    gram text not null,
    record_id uuid not null,
    primary key (tenant_id, kind, gram, record_id)
);
-- a record's pieces, to replace them when it changes
create index search_grams_record on search_grams (tenant_id, kind, record_id);
grant select, insert, delete on search_grams to odex_app;

-- Statement triggers with transition tables: one insert per statement, so a CSV import of
-- thousands of rows costs one set-based write, not one per row. TG_ARGV: the kind, then the
-- record's searchable columns. They run as the writer, under RLS.
create function search_grams_text(kind text, rec jsonb) returns text
    language sql immutable parallel safe
    set search_path = pg_catalog
    as $$
        select concat_ws(' ', rec ->> 'first_name', rec ->> 'last_name', rec ->> 'title')
         where kind = 'contact'
        union all
        select concat_ws(' ', rec ->> 'name', rec ->> 'domain') where kind = 'company'
        union all
        select rec ->> 'title' where kind = 'deal'
    $$;

create function search_grams_added() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        insert into search_grams (tenant_id, kind, gram, record_id)
             select n.tenant_id, tg_argv[0], unnest(search_grams_of(
                    search_grams_text(tg_argv[0], to_jsonb(n)))), n.id
               from new_rows n;
        return null;
    end
    $$;

create function search_grams_changed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        -- only the rows whose searchable text changed (a deal moved on the board keeps its)
        delete from search_grams
         where tenant_id = any(array(select distinct tenant_id from old_rows))
           and kind = tg_argv[0]
           and record_id = any(array(
               select o.id from old_rows o join new_rows n on n.id = o.id
                where search_grams_text(tg_argv[0], to_jsonb(n))
                      is distinct from search_grams_text(tg_argv[0], to_jsonb(o))));
        insert into search_grams (tenant_id, kind, gram, record_id)
             select n.tenant_id, tg_argv[0], unnest(search_grams_of(
                    search_grams_text(tg_argv[0], to_jsonb(n)))), n.id
               from new_rows n join old_rows o on o.id = n.id
              where search_grams_text(tg_argv[0], to_jsonb(n))
                    is distinct from search_grams_text(tg_argv[0], to_jsonb(o));
        return null;
    end
    $$;

create function search_grams_removed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        -- ids as arrays: an index scan on (tenant_id, kind, record_id) whatever the planner
        -- guesses of the transition table (a join scanned every gram of the workspace)
        delete from search_grams
         where tenant_id = any(array(select distinct tenant_id from old_rows))
           and kind = tg_argv[0] and record_id = any(array(select id from old_rows));
        return null;
    end
    $$;
"""
    + "".join(
        f"""
create trigger search_grams_added after insert on {table}
    referencing new table as new_rows
    for each statement execute function search_grams_added('{kind}');
create trigger search_grams_changed after update on {table}
    referencing old table as old_rows new table as new_rows
    for each statement execute function search_grams_changed('{kind}');
create trigger search_grams_removed after delete on {table}
    referencing old table as old_rows
    for each statement execute function search_grams_removed('{kind}');
"""
        for table, kind in (("contacts", "contact"), ("companies", "company"), ("deals", "deal"))
    )
    + tenant_rls("search_grams")
    + """
-- the records already there (RLS unforced for this transaction only: the owner sees them)
alter table contacts no force row level security;
alter table companies no force row level security;
alter table deals no force row level security;
alter table search_grams no force row level security;
insert into search_grams (tenant_id, kind, gram, record_id)
    select tenant_id, 'contact', unnest(search_grams_of(search_grams_text('contact',
           to_jsonb(c)))), id from contacts c
    union all
    select tenant_id, 'company', unnest(search_grams_of(search_grams_text('company',
           to_jsonb(c)))), id from companies c
    union all
    select tenant_id, 'deal', unnest(search_grams_of(search_grams_text('deal', to_jsonb(d)))),
           id from deals d;
alter table contacts force row level security;
alter table companies force row level security;
alter table deals force row level security;
alter table search_grams force row level security;
"""
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "search", DESCRIPTION, SQL)
