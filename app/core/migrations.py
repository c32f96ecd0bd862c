"""Helpers for Piccolo migrations written as SQL (tables, RLS, grants). Never change a helper's
output once a migration uses it: add a new helper instead, so old migrations stay what they were.
"""

from __future__ import annotations

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from app.core.db import engine

TENANT_PREDICATE = "tenant_id = (select nullif(current_setting('app.tenant_id', true), ''))::uuid"


def tenant_rls(table: str, predicate: str = TENANT_PREDICATE) -> str:
    """ENABLE + FORCE row-level security with the one tenant policy (USING and WITH CHECK)."""
    return (
        f"alter table {table} enable row level security;\n"
        f"alter table {table} force row level security;\n"
        f"create policy tenant_isolation on {table} using ({predicate}) with check ({predicate});\n"
    )


def sql_migration(migration_id: str, app_name: str, description: str, sql: str) -> MigrationManager:
    """A Piccolo migration that runs one multi-statement SQL script in its transaction."""
    manager = MigrationManager(
        migration_id=migration_id, app_name=app_name, description=description
    )

    async def run_sql() -> None:
        txn = engine().current_transaction.get()
        if txn is None:  # Piccolo wraps migrations in a transaction; be safe if it stops doing so
            async with engine().transaction() as own:
                await own.connection.execute(sql)
        else:
            await txn.connection.execute(sql)

    manager.add_raw(run_sql)
    return manager


def self_scoped_function(name: str, params: str, returns: str, query: str) -> str:
    """A read function that sets its own RLS scope, for `db.self_scoped` (one round trip in
    autocommit instead of BEGIN with the scope, the read, COMMIT): `params` begin with
    `p_tenant uuid, p_user uuid`, whose transaction-local `set_config(..., true)` scope the
    body sets before `return query <query>` and which ends with the statement's transaction.
    Security invoker (RLS applies as to any query of the app role); only odex_app may call
    it. `returns`: e.g. `table (version bigint, ...)`."""
    if not params.startswith("p_tenant uuid, p_user uuid"):
        raise ValueError("a self-scoped function takes (p_tenant uuid, p_user uuid, ...)")
    types = ", ".join(param.split()[-1] for param in params.split(","))
    return f"""
create function {name}({params})
    returns {returns}
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        perform set_config('app.tenant_id', p_tenant::text, true),
                set_config('app.user_id', p_user::text, true);
        return query
{query.strip(chr(10))};
    end
    $$;
revoke all on function {name}({types}) from public;
grant execute on function {name}({types}) to odex_app;
"""
