"""Deals: a win probability per stage (weighted values on the board; won 100, lost 0) and a
pipeline's stale threshold (cards untouched for that many days are marked)."""

from app.core.migrations import sql_migration

ID = "2026-12-02T10:41:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "stage probability and pipeline stale days"

SQL = """
alter table stages add column probability smallint not null default 0
    check (probability between 0 and 100);
-- the owner is under FORCE RLS too: lift it for this one backfill, inside the transaction
alter table stages no force row level security;
update stages set probability = case
    when kind = 'won' then 100
    when kind = 'lost' then 0
    when name = 'Lead' then 10
    when name = 'Qualified' then 25
    when name = 'Proposal' then 50
    when name = 'Negotiation' then 75
    else 0 end;
alter table stages force row level security;
alter table pipelines add column stale_days integer not null default 14
    check (stale_days between 1 and 365);
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "deals", DESCRIPTION, SQL)
