"""The dashboard's recent activity across all records of a tenant."""

from app.core.migrations import sql_migration

ID = "2026-11-25T14:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "activities by tenant and time"

SQL = "create index activities_recent on activities (tenant_id, created_at desc);"


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
