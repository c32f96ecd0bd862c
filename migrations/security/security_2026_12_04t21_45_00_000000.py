"""Security: the header badge's count of open alerts in one round trip, `odex_open_alert_count`.

The badge is fetched by every page an admin opens. In a transaction of its own its count was
three round trips (BEGIN with the RLS scope, the count, COMMIT). Like `odex_signed_in`
(accounts 1.44.0), this function sets the same transaction-local scope (`set_config(..., true)`)
and then counts, so one statement in autocommit does all three; the scope ends with the
statement's own transaction. Security invoker: RLS applies as for any query of the app role
(which may set the scope itself anyway)."""

from app.core.migrations import sql_migration

ID = "2026-12-04T21:45:00:000000"
VERSION = "1.45.0"
DESCRIPTION = "odex_open_alert_count(): the alerts badge's count with its RLS scope, one statement"

SQL = """
create function odex_open_alert_count(p_tenant uuid, p_user uuid)
    returns bigint
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        perform set_config('app.tenant_id', p_tenant::text, true),
                set_config('app.user_id', p_user::text, true);
        return (select count(*) from security_alerts where acknowledged_at is null);
    end
    $$;
revoke all on function odex_open_alert_count(uuid, uuid) from public;
grant execute on function odex_open_alert_count(uuid, uuid) to odex_app;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "security", DESCRIPTION, SQL)
