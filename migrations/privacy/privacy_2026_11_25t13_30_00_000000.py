"""Privacy: the right to erasure may anonymise the free text of append-only timeline entries."""

from app.core.migrations import sql_migration

ID = "2026-11-25T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "erasure may anonymise activities.summary and activities.changes"

# activities is append-only for odex_app (migrations/crm). Erasing a contact's personal data
# (GDPR Art. 17) must still blank what the timeline says about them: only these two free-text
# columns become updatable; who did what and when stays append-only.
SQL = """
do $$
begin
    if to_regclass('public.activities') is not null then
        grant update (summary, changes) on activities to odex_app;
    end if;
end $$;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "privacy", DESCRIPTION, SQL)
