"""Webhooks: read scopes per subscription (the API tokens' words, `contacts:read`, …, plus
`members:read`) and whether personal data (contacts' emails and phones) is sent. Existing
subscriptions get the scopes their events need and keep personal data, so what they receive
does not change; new ones start without personal data."""

from app.core.migrations import sql_migration

ID = "2026-12-03T07:53:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook scopes and personal data"

SQL = """
alter table webhook_subscriptions
    add column scopes text[] not null default '{}' check (cardinality(scopes) <= 20),
    add column personal_data boolean not null default false;
-- the owner is under FORCE RLS too: lift it for this one backfill, inside the transaction
alter table webhook_subscriptions no force row level security;
update webhook_subscriptions set personal_data = true, scopes = array(
    select distinct case split_part(e, '.', 1)
        when 'contact' then 'contacts:read'
        when 'company' then 'companies:read'
        when 'deal' then 'deals:read'
        when 'invoice' then 'invoices:read'
        when 'member' then 'members:read' end
    from unnest(events) as e where split_part(e, '.', 1)
        in ('contact', 'company', 'deal', 'invoice', 'member')
    order by 1);
alter table webhook_subscriptions force row level security;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "webhooks", DESCRIPTION, SQL)
