"""Accounts: the signed-in check of a request in one round trip, `odex_signed_in(tenant, user)`.

Every signed-in request asks whether its session's user is still an active member of the
session's workspace (and with which role, name and formats). In a transaction of its own that
was three round trips (BEGIN with the RLS scope, the query, COMMIT). This function sets the
same transaction-local scope (`set_config(..., true)`, as `begin_scoped` does) and then runs
the query, so a single statement, in autocommit, does all three; the scope ends with the
statement's own transaction. It runs as its caller (security invoker): RLS applies as for
any query of the app role, which may set the scope itself anyway. Inside an open transaction
of the same tenant and user (a page's one read) it sets the values already set."""

from app.core.migrations import sql_migration

ID = "2026-12-04T18:45:00:000000"
VERSION = "1.44.0"
DESCRIPTION = "odex_signed_in(): a request's signed-in check with its RLS scope, one statement"

SQL = """
create function odex_signed_in(p_tenant uuid, p_user uuid)
    returns table (
        role text, tenant_name text, name text, email text, email_verified_at timestamptz,
        is_staff boolean, time_zone text, locale text, mfa_held boolean
    )
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        perform set_config('app.tenant_id', p_tenant::text, true),
                set_config('app.user_id', p_user::text, true);
        return query
            select m.role, t.name, u.name, u.email, u.email_verified_at, u.is_staff,
                   u.time_zone, u.locale,
                   m.role = 'owner'
                   and coalesce((select s.mfa_required_for_owners from tenant_security s
                                  limit 1), false)
                   and not exists (select 1 from user_mfa f
                                    where f.user_id = p_user and f.enabled_at is not null)
              from memberships m
              join tenants t on t.id = m.tenant_id
              join users u on u.id = m.user_id
             where m.tenant_id = p_tenant and m.user_id = p_user and t.status = 'active';
    end
    $$;
revoke all on function odex_signed_in(uuid, uuid) from public;
grant execute on function odex_signed_in(uuid, uuid) to odex_app;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "accounts", DESCRIPTION, SQL)
