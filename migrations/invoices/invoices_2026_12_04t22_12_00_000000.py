"""An invoice bumps its company's record version (crm 1.45.0's `record_bump`,
app/crm/company_page.py): the company's page lists its invoices (number, status, due, total)."""

from app.core.migrations import sql_migration

ID = "2026-12-04T22:12:00:000000"
VERSION = "1.47.0"
DESCRIPTION = "invoices bump their company's record version (the kept company page)"

SQL = """
create constraint trigger record_invoice_added after insert on invoices
    deferrable initially deferred for each row execute function record_company_linked();
create constraint trigger record_invoice_changed after update on invoices
    deferrable initially deferred for each row when (old.* is distinct from new.*)
    execute function record_company_linked();
create constraint trigger record_invoice_removed after delete on invoices
    deferrable initially deferred for each row execute function record_company_linked();
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "invoices", DESCRIPTION, SQL)
