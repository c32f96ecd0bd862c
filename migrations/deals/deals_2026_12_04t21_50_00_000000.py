"""Deals: the board page's one read in one round trip, `odex_board_pipelines(tenant, user)`.

A board page whose markup is kept (app/deals/board_cache.py) reads only the workspace's
pipelines with their board versions, the currency, the name epoch and the minute. In a
transaction of its own that was three round trips (BEGIN with the RLS scope, the query,
COMMIT). Like `odex_signed_in` (accounts 1.44.0), this function sets the same
transaction-local scope (`set_config(..., true)`) and then runs the query, so one statement in
autocommit does all three; the scope ends with the statement's own transaction. Inside an open
transaction of the same tenant and user (a board read again with its cards) it sets the values
already set. Security invoker: RLS applies as for any query of the app role (which may set the
scope itself anyway). The minute is the statement's now(), as the query's was the
transaction's."""

from app.core.migrations import sql_migration

ID = "2026-12-04T21:50:00:000000"
VERSION = "1.46.0"
DESCRIPTION = "odex_board_pipelines(): the board's pipelines and versions with their RLS scope"

SQL = """
create function odex_board_pipelines(p_tenant uuid, p_user uuid)
    returns table (
        id uuid, name text, is_default boolean, version integer, stale_days integer,
        board_version bigint, default_currency text, epoch bigint, minute bigint
    )
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        perform set_config('app.tenant_id', p_tenant::text, true),
                set_config('app.user_id', p_user::text, true);
        return query
            select p.id, p.name, p.is_default, p.version, p.stale_days,
                   v.version, t.default_currency::text, e.version,
                   floor(extract(epoch from now()) / 60)::bigint
              from pipelines p
              join tenants t on t.id = p.tenant_id
              left join board_versions v on v.pipeline_id = p.id
             cross join board_epoch e
             order by p.position, p.created_at, p.id;
    end
    $$;
revoke all on function odex_board_pipelines(uuid, uuid) from public;
grant execute on function odex_board_pipelines(uuid, uuid) to odex_app;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "deals", DESCRIPTION, SQL)
