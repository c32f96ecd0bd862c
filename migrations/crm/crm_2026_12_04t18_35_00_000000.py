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

from app.core.migrations import sql_migration
from migrations.crm.crm_2026_12_04t17_30_00_000000 import SQL as EMAIL_KEYS_SQL

ID = "2026-12-04T18:35:00:000000"
VERSION = "1.43.0"
DESCRIPTION = "contact phone keys (blind indexes) for index lookups under RLS, kept by triggers"

# the email keys' table, triggers, policy and backfill (1.41.0), for phones_bidx: the same
# statements with every "email" read "phone" (contact_phone_keys, phones_bidx)
SQL = EMAIL_KEYS_SQL.replace("email", "phone")


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
