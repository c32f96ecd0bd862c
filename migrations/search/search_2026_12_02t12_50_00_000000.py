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

-- kind, then the record's searchable columns (TG_ARGV); runs as the writer, under RLS
create function search_grams_refresh() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    declare
        record_kind text := tg_argv[0];
        cols text[] := tg_argv[1:];
        fresh text;
    begin
        if tg_op = 'UPDATE' then
            if (select array_agg(to_jsonb(new) ->> c) from unnest(cols) c)
                is not distinct from (select array_agg(to_jsonb(old) ->> c) from unnest(cols) c)
            then
                return null;
            end if;
        end if;
        if tg_op in ('UPDATE', 'DELETE') then
            delete from search_grams g
             where g.tenant_id = old.tenant_id and g.kind = record_kind
               and g.record_id = old.id;
        end if;
        if tg_op in ('INSERT', 'UPDATE') then
            fresh := (select string_agg(to_jsonb(new) ->> c, ' ') from unnest(cols) c);
            insert into search_grams (tenant_id, kind, gram, record_id)
                 select new.tenant_id, record_kind, gram, new.id
                   from unnest(search_grams_of(fresh)) as gram;
        end if;
        return null;
    end
    $$;

create trigger search_grams after insert or update or delete on contacts
    for each row execute function search_grams_refresh('contact', 'first_name', 'last_name', 'title');
create trigger search_grams after insert or update or delete on companies
    for each row execute function search_grams_refresh('company', 'name', 'domain');
create trigger search_grams after insert or update or delete on deals
    for each row execute function search_grams_refresh('deal', 'title');
"""
    + tenant_rls("search_grams")
    + """
-- the records already there (RLS unforced for this transaction only: the owner sees them)
alter table contacts no force row level security;
alter table companies no force row level security;
alter table deals no force row level security;
alter table search_grams no force row level security;
insert into search_grams (tenant_id, kind, gram, record_id)
    select tenant_id, 'contact', unnest(search_grams_of(concat_ws(' ', first_name, last_name,
           title))), id from contacts
    union all
    select tenant_id, 'company', unnest(search_grams_of(concat_ws(' ', name, domain))), id
      from companies
    union all
    select tenant_id, 'deal', unnest(search_grams_of(title)), id from deals;
alter table contacts force row level security;
alter table companies force row level security;
alter table deals force row level security;
alter table search_grams force row level security;
"""
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "search", DESCRIPTION, SQL)
