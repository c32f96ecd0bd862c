"""Duplicate companies: each company's name and web domain as duplicates compare them, kept by
PostgreSQL (generated columns), with (tenant_id, key, id) indexes. Equality on text is
LEAKPROOF, so the app role's queries under row-level security use these indexes (a LIKE or a
function on the column would not): the create warning, the review list and the CSV import
match companies by `name_key = …` / `domain_key = …`.

The name's key: lower case, dots and apostrophes dropped ("B.V." is "bv"), other punctuation
a space, trimmed, and trailing legal forms stripped (Ltd, GmbH, Inc, SA, BV, LLC, …); a name
that is only a legal form keeps it. The domain's key: lower case, without scheme, path,
"www." and a trailing dot. An empty key is NULL (never a match)."""

from app.core.migrations import sql_migration

ID = "2026-12-03T08:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "companies: name_key and domain_key for duplicates"

SQL = r"""
create function company_name_key(name text) returns text
    language sql immutable parallel safe
    set search_path = pg_catalog
    as $$
        select nullif(regexp_replace(
            btrim(regexp_replace(regexp_replace(lower(coalesce(name, '')), '[.''’]', '', 'g'),
                                 '[^[:alnum:]]+', ' ', 'g')),
            '( (ltd|limited|gmbh|mbh|inc|incorporated|sa|sas|sarl|bv|nv|llc|llp|lp|plc|ag|kg'
            '|corp|corporation|co|srl|spa|oy|ab|pty|kk|se))+$', ''), '')
    $$;

create function company_domain_key(domain text) returns text
    language sql immutable parallel safe
    set search_path = pg_catalog
    as $$
        select nullif(regexp_replace(regexp_replace(
            split_part(regexp_replace(lower(btrim(coalesce(domain, ''))), '^[a-z]+://', ''), '/', 1),
            '^www\.', ''), '\.$', ''), '')
    $$;

alter table companies
    add column name_key text generated always as (company_name_key(name)) stored,
    add column domain_key text generated always as (company_domain_key(domain)) stored;
create index companies_tenant_name_key on companies (tenant_id, name_key, id);
create index companies_tenant_domain_key on companies (tenant_id, domain_key, id);
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
