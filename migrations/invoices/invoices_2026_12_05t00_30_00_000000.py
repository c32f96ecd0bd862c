"""List versions: `dashboard_versions.lists`, a second counter on each workspace's dashboard row
that changes whenever anything a contact or company list page's results show (or how they are
filtered, searched, sorted and counted) changes, so each web process can keep a list page's
result (its rows, cursors and count) and reuse it while the counter, read in the page's own
transaction, stays the same (app/crm/kept_lists.py).

What the lists' SQL reads (app/crm/list_queries.py, filters.py, custom_filters.py,
custom_sort.py): contacts (their names, title, tags, first email, owner, company, custom values,
times; their `search_grams`, blind-index key tables and the workspace's `record_counts` are kept
by triggers on contacts, in the same transaction), companies (their own list, and a contact
row's company name), the custom fields' definitions (a filter or custom sort names a field by
key) and people's names (users: global, `record_epoch` already counts their changes and is
read beside the counter). So it is bumped, in the writer's transaction, after an insert, a
delete or a real update (a row that changed) of contacts, companies and custom_fields.

The counter is a column of `dashboard_versions` rather than a table of its own: a transaction
that bumps a list and a dashboard or board locks the same one row per workspace (the dashboard's
lock order, 1.45.0: that row before any board's row), never a second row in another order. The
bumps run like the dashboard's: deferred constraint triggers, at commit, once per workspace and
transaction (`odex.lists_bumped`, transaction-local), as the writer under RLS (a write made
without the workspace's scope bumps nothing; the app never writes these tables without it).

`odex_list_state(tenant, user, plural)`: what a kept list content (app/crm/kept_lists.py)
depends on beyond the reader and the query, without building the list's frame (the people,
saved views and custom fields as JSON, app/crm/list_frame.py: about three times its cost in
PostgreSQL): the list version (the custom fields' definitions bump it too), `record_epoch`
(people's names and addresses) and digests of the versions (`xmin`) of the workspace's
memberships and of the saved views the member sees. It sets its RLS scope itself, like
`odex_board_pipelines` (deals 1.46.0): a kept list page costs this one round trip besides the
signed-in check, instead of BEGIN, the read and COMMIT. Inside an open transaction of the same
tenant and user it sets the values already set."""

from app.core.migrations import self_scoped_function, sql_migration

ID = "2026-12-05T00:30:00:000000"
VERSION = "1.48.0"
DESCRIPTION = "list versions (dashboard_versions.lists, bumped by triggers), odex_list_state()"

SQL = (
    """
alter table dashboard_versions add column lists bigint not null default 0;

"""
    + self_scoped_function(
        "odex_list_state",
        "p_tenant uuid, p_user uuid, p_plural text",
        """table (lists bigint, epoch bigint, members text, views text)""",
        """
            select (select d.lists from dashboard_versions d where d.tenant_id = p_tenant),
                   (select e.version from record_epoch e where e.id = 1),
                   (select md5(coalesce(string_agg(m.user_id::text || '.' || m.xmin::text, ','
                                                   order by m.user_id), ''))
                      from memberships m where m.tenant_id = p_tenant),
                   (select md5(coalesce(string_agg(v.id::text || '.' || v.xmin::text, ','
                                                   order by v.id), ''))
                      from saved_views v
                     where v.tenant_id = p_tenant and v.kind = p_plural
                       and (v.user_id = p_user or v.shared))
""",
    )
    + """

create function lists_bump(tenant uuid) returns void
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    declare
        done text := coalesce(current_setting('odex.lists_bumped', true), '');
    begin
        if tenant is null or strpos(done, tenant::text) > 0 then
            return;
        end if;
        update dashboard_versions set lists = lists + 1 where tenant_id = tenant;
        perform set_config('odex.lists_bumped', done || tenant::text || ' ', true);
    end
    $$;

create function lists_changed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        -- the test before the call: a 10,000-row statement costs a string search per row
        if strpos(coalesce(current_setting('odex.lists_bumped', true), ''),
                  (case when tg_op = 'DELETE' then old.tenant_id
                        else new.tenant_id end)::text) = 0 then
            perform lists_bump(case when tg_op = 'DELETE' then old.tenant_id
                                    else new.tenant_id end);
        end if;
        return null;
    end
    $$;

-- Named `version_lists_*` to sort after the `record_*` triggers (crm 1.45.0): PostgreSQL fires
-- one event's triggers in name order, so a change of a contact or company locks its company's
-- `record_versions` row before its workspace's dashboard row, the order a note or task on a
-- company already takes (its row, then the dashboard row by its timeline entry): two commits
-- never hold one each while waiting for the other's.
"""
    + "".join(
        f"""
create constraint trigger version_lists_{table}_added after insert on {table}
    deferrable initially deferred for each row execute function lists_changed();
create constraint trigger version_lists_{table}_changed after update on {table}
    deferrable initially deferred for each row when (old.* is distinct from new.*)
    execute function lists_changed();
create constraint trigger version_lists_{table}_removed after delete on {table}
    deferrable initially deferred for each row execute function lists_changed();
"""
        for table in ("contacts", "companies", "custom_fields")
    )
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "invoices", DESCRIPTION, SQL)
