"""Where search keeps personal data: three-character pieces of contacts' names and titles
(and of companies' names and deals' titles), the index that finds a record by a part of it."""

from __future__ import annotations

from app.core.datamap import register, tenant_table

OWNER = "search"


def _register() -> None:
    register(
        tenant_table(
            "search_grams",
            OWNER,
            ("contact", "workspace"),
            "three-character pieces of contacts' names and job titles, companies' names and"
            " domains, deals' titles (never of emails, phone numbers or notes), with the id"
            " of their record",
            retention="exactly as long as their record: triggers replace them on every edit"
            " and delete them with the record",
            access="not shown (an index)",
            erasure="deleted with the contact (trigger)",
            account_deletion="not affected",
        )
    )


_register()
