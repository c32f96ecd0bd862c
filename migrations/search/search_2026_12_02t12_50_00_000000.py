"""Search: pg_trgm and btree_gin, and GIN indexes that lead with tenant_id for the global
search and the pickers (names, company names and domains, deal titles by substring and
similarity; contacts' blind indexes for an exact email or phone number)."""

from app.core.migrations import sql_migration

ID = "2026-12-02T12:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "search: trigram and blind-index GIN indexes"

SQL = """
-- Both are trusted extensions (PostgreSQL 13+): the database's owner, odex_owner, may create
-- them. btree_gin lets a GIN index lead with tenant_id (uuid), as every index here does.
create extension if not exists pg_trgm;
create extension if not exists btree_gin;

-- contacts: first and last name and title (search_text, lower-cased by its trigger)
create index contacts_search_trgm on contacts
    using gin (tenant_id, search_text gin_trgm_ops);
-- contacts: an exact email or phone number through its blind index (&&)
create index contacts_search_keys on contacts
    using gin (tenant_id, emails_bidx, phones_bidx);
-- companies: name and web domain, the expression the company list filters on too
create index companies_search_trgm on companies
    using gin (tenant_id, lower(name || ' ' || coalesce(domain, '')) gin_trgm_ops);
-- deals: title
create index deals_search_trgm on deals
    using gin (tenant_id, lower(title) gin_trgm_ops);
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "search", DESCRIPTION, SQL)
