"""Dashboard versions: a counter per workspace that changes whenever anything of the dashboard's
workspace figures changes, so each web process can keep the figures and reuse them while the
counter (read in the page's own transaction) stays the same (app/crm/dashboard.py).

The figures kept: the open pipeline and the deals won this month (deals, and their stages'
kinds), the unpaid and overdue invoices, the recent activity (timeline entries; their actors'
names are global and bump `board_epoch`, read beside the counter), whether any deal exists (the
first-run checklist); and anything a board shows (a board's bump bumps its workspace's dashboard
too: the lock order, below). What stays per person or is cheap (my tasks, the checklist's other
facts, the record counts) is read live on every page.

`dashboard_versions` is a tenant table (RLS forced), one row per workspace (made by a trigger on
tenants, deleted with it). It is bumped, in the writer's transaction, after a change of: deals
(insert, update, delete), stages (insert, update, delete), invoices (a status that counts, or a
change of status) and activities (insert, update, delete). It lives in the invoices app because
its triggers reach invoices, the last of those tables to be made.

Like the board's versions (migrations/deals, 1.42.0) the bumps run as deferred constraint
triggers, at commit, once per workspace and transaction (`odex.dashboard_bumped` remembers the
workspaces bumped, transaction-local): the counter's row is locked after every row the
transaction writes, and a 10,000-row import bumps once (its rows still cost a trigger call each
at commit: a few microseconds). A board's bump now bumps its workspace's dashboard first, so at
commit every transaction locks the dashboard row before any board row (below). They run as the
writer, under RLS: a write made without the tenant's scope bumps nothing (the app never writes
these tables without it; an actor's deletion, a cascade without scope, bumps `board_epoch`)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-04T21:45:00:000000"
VERSION = "1.45.0"
DESCRIPTION = "dashboard versions (per workspace, bumped by triggers) for the cached dashboard"

SQL = (
    """
create table dashboard_versions (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    version bigint not null default 0
);
grant select, insert, update on dashboard_versions to odex_app;

create function dashboard_workspace_added() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        insert into dashboard_versions (tenant_id) values (new.id);
        return null;
    end
    $$;

create function dashboard_bump(tenant uuid) returns void
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    declare
        done text := coalesce(current_setting('odex.dashboard_bumped', true), '');
    begin
        if tenant is null or strpos(done, tenant::text) > 0 then
            return;
        end if;
        update dashboard_versions set version = version + 1 where tenant_id = tenant;
        perform set_config('odex.dashboard_bumped', done || tenant::text || ' ', true);
    end
    $$;

create function dashboard_changed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        perform dashboard_bump(case when tg_op = 'DELETE' then old.tenant_id
                                    else new.tenant_id end);
        return null;
    end
    $$;

-- The lock order at commit: a workspace's dashboard row before any of its boards' rows. A
-- board's bump (1.42.0) bumps its workspace's dashboard first (once per transaction), so
-- every transaction that bumps anything locks the dashboard row first: two committing
-- transactions never hold a board row each while waiting for the other's (a bulk change over
-- two pipelines against a move in the second could otherwise deadlock). A board-only change
-- (a note on a deal, a company's name) then reads the dashboard's figures again too.
create or replace function board_bump(pipeline uuid) returns void
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    declare
        done text := coalesce(current_setting('odex.boards_bumped', true), '');
    begin
        if pipeline is null or strpos(done, pipeline::text) > 0 then
            return;
        end if;
        perform dashboard_bump(
            (select v.tenant_id from board_versions v where v.pipeline_id = pipeline)
        );
        update board_versions set version = version + 1 where pipeline_id = pipeline;
        perform set_config('odex.boards_bumped', done || pipeline::text || ' ', true);
    end
    $$;

create trigger dashboard_workspace_added after insert on tenants
    for each row execute function dashboard_workspace_added();

create constraint trigger dashboard_deal_changed after insert or update or delete on deals
    deferrable initially deferred for each row execute function dashboard_changed();
create constraint trigger dashboard_stage_changed after insert or update or delete on stages
    deferrable initially deferred for each row execute function dashboard_changed();
create constraint trigger dashboard_activity_changed
    after insert or update or delete on activities
    deferrable initially deferred for each row execute function dashboard_changed();

-- invoices: only a status the dashboard counts (sent, overdue), or a change of status
create constraint trigger dashboard_invoice_added after insert on invoices
    deferrable initially deferred for each row when (new.status in ('sent', 'overdue'))
    execute function dashboard_changed();
create constraint trigger dashboard_invoice_changed after update on invoices
    deferrable initially deferred for each row
    when (old.status is distinct from new.status or old.tenant_id is distinct from new.tenant_id)
    execute function dashboard_changed();
create constraint trigger dashboard_invoice_removed after delete on invoices
    deferrable initially deferred for each row when (old.status in ('sent', 'overdue'))
    execute function dashboard_changed();
"""
    + tenant_rls("dashboard_versions")
    + """
-- the workspaces already there (RLS unforced for this transaction only: the owner sees them;
-- tenants is locked first so none is added between the copy and the trigger)
lock table tenants in share row exclusive mode;
alter table tenants no force row level security;
alter table dashboard_versions no force row level security;
insert into dashboard_versions (tenant_id) select t.id from tenants t;
alter table tenants force row level security;
alter table dashboard_versions force row level security;
"""
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "invoices", DESCRIPTION, SQL)
