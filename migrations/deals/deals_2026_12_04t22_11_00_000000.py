"""A deal linked to a company bumps the company's record version (crm 1.45.0's `record_bump`,
app/crm/company_page.py): its page lists the company's deals (title, stage, amount)."""

from app.core.migrations import sql_migration

ID = "2026-12-04T22:11:00:000000"
VERSION = "1.46.0"
DESCRIPTION = "deals bump their company's record version (the kept company page)"

SQL = """
create constraint trigger record_deal_added after insert on deals
    deferrable initially deferred for each row when (new.company_id is not null)
    execute function record_company_linked();
create constraint trigger record_deal_changed after update on deals
    deferrable initially deferred for each row
    when ((old.company_id is not null or new.company_id is not null)
          and old.* is distinct from new.*)
    execute function record_company_linked();
create constraint trigger record_deal_removed after delete on deals
    deferrable initially deferred for each row when (old.company_id is not null)
    execute function record_company_linked();
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "deals", DESCRIPTION, SQL)
