"""Board versions: a counter per pipeline that changes whenever anything a board of it shows
changes, so each web process can keep a board's rendered columns and reuse them while the
counter (read in the page's own transaction) stays the same (app/deals/board_cache.py).

`board_versions` is a tenant table (RLS forced), one row per pipeline (made by a trigger on
pipelines, deleted with it). It is bumped, in the writer's transaction, after a change of:
deals (insert, update, delete: a move, an edit, an import), stages (name, kind, order,
probability), the notes, tasks and activities of a deal (its next activity, its "stale" days),
a company's name (on its deals' cards) and the workspace's exchange rates. The workspace's
currency and the pipeline's stale limit are read beside the counter; a person's name (a card's
owner) is global (users) and bumps `board_epoch`, one platform-wide counter, instead.

The bumps run as deferred constraint triggers, at commit, once per pipeline and transaction
(`odex.boards_bumped` remembers the pipelines bumped, transaction-local): the counter's row is
locked last, after every row the transaction writes, so a bump never waits while holding a
deal (no new deadlock with a board move, which locks the pipeline and then its deals), and a
10,000-row import bumps once. The triggers run as the writer, under RLS: a write made without
the tenant's scope bumps nothing (the app never writes tenant rows without it)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-12-04T18:30:00:000000"
VERSION = "1.42.0"
DESCRIPTION = "board versions (per pipeline, bumped by triggers) for the cached board"

SQL = (
    """
create table board_versions (
    pipeline_id uuid primary key,
    tenant_id uuid not null,
    version bigint not null default 0,
    foreign key (tenant_id, pipeline_id) references pipelines (tenant_id, id) on delete cascade
);
create index board_versions_tenant on board_versions (tenant_id);
grant select, insert, update on board_versions to odex_app;

-- one row, no tenant's data: bumped when a person's name (a card's owner) changes
create table board_epoch (
    id smallint primary key check (id = 1),
    version bigint not null default 0
);
insert into board_epoch (id, version) values (1, 0);
grant select, update on board_epoch to odex_app;
revoke insert, delete on board_epoch from odex_app;

create function board_bump(pipeline uuid) returns void
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    declare
        done text := coalesce(current_setting('odex.boards_bumped', true), '');
    begin
        if pipeline is null or strpos(done, pipeline::text) > 0 then
            return;
        end if;
        update board_versions set version = version + 1 where pipeline_id = pipeline;
        perform set_config('odex.boards_bumped', done || pipeline::text || ' ', true);
    end
    $$;

create function board_pipeline_added() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        insert into board_versions (pipeline_id, tenant_id) values (new.id, new.tenant_id);
        return null;
    end
    $$;

create function board_deal_changed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        -- the test before the call: a 10,000-row insert costs a string search per row
        if tg_op <> 'INSERT' and strpos(
            coalesce(current_setting('odex.boards_bumped', true), ''), old.pipeline_id::text
        ) = 0 then
            perform board_bump(old.pipeline_id);
        end if;
        if tg_op <> 'DELETE' and strpos(
            coalesce(current_setting('odex.boards_bumped', true), ''), new.pipeline_id::text
        ) = 0 then
            perform board_bump(new.pipeline_id);
        end if;
        return null;
    end
    $$;

-- a note, task or activity: the board of the deal it is on (none when about something else)
create function board_subject_changed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        if tg_op <> 'INSERT' and old.subject_type = 'deal' then
            perform board_bump((select d.pipeline_id from deals d where d.id = old.subject_id));
        end if;
        if tg_op <> 'DELETE' and new.subject_type = 'deal' then
            perform board_bump((select d.pipeline_id from deals d where d.id = new.subject_id));
        end if;
        return null;
    end
    $$;

create function board_company_renamed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    declare
        pipeline uuid;
    begin
        for pipeline in select distinct d.pipeline_id from deals d where d.company_id = new.id
        loop
            perform board_bump(pipeline);
        end loop;
        return null;
    end
    $$;

-- a stage or an exchange rate: the stage's pipeline, or every pipeline of the workspace
create function board_pipelines_changed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    declare
        pipeline uuid;
    begin
        if tg_table_name = 'stages' then
            if tg_op <> 'INSERT' then
                perform board_bump(old.pipeline_id);
            end if;
            if tg_op <> 'DELETE' then
                perform board_bump(new.pipeline_id);
            end if;
        else
            for pipeline in select v.pipeline_id from board_versions v
                where v.tenant_id = (case when tg_op = 'DELETE' then old.tenant_id
                                          else new.tenant_id end)
            loop
                perform board_bump(pipeline);
            end loop;
        end if;
        return null;
    end
    $$;

create function board_user_renamed() returns trigger
    language plpgsql
    set search_path = public, pg_catalog
    as $$
    begin
        update board_epoch set version = version + 1 where id = 1;
        return null;
    end
    $$;

create trigger board_pipeline_added after insert on pipelines
    for each row execute function board_pipeline_added();

create constraint trigger board_deal_changed after insert or update or delete on deals
    deferrable initially deferred for each row execute function board_deal_changed();

create constraint trigger board_stage_changed after insert or update or delete on stages
    deferrable initially deferred for each row execute function board_pipelines_changed();
create constraint trigger board_rate_changed after insert or update or delete on exchange_rates
    deferrable initially deferred for each row execute function board_pipelines_changed();

create constraint trigger board_company_renamed after update of name on companies
    deferrable initially deferred for each row when (old.name is distinct from new.name)
    execute function board_company_renamed();
create constraint trigger board_user_renamed after update of name on users
    deferrable initially deferred for each row when (old.name is distinct from new.name)
    execute function board_user_renamed();
-- a deleted login clears its deals' owner (memberships, then deals: cascades that may run
-- without any workspace's scope, so no board version would be bumped)
create constraint trigger board_user_deleted after delete on users
    deferrable initially deferred for each row execute function board_user_renamed();
"""
    + "".join(
        f"""
create constraint trigger board_{table}_added after insert on {table}
    deferrable initially deferred for each row when (new.subject_type = 'deal')
    execute function board_subject_changed();
create constraint trigger board_{table}_changed after update on {table}
    deferrable initially deferred for each row
    when (old.subject_type = 'deal' or new.subject_type = 'deal')
    execute function board_subject_changed();
create constraint trigger board_{table}_removed after delete on {table}
    deferrable initially deferred for each row when (old.subject_type = 'deal')
    execute function board_subject_changed();
"""
        for table in ("notes", "tasks")
    )
    + """
-- activities are appended (the app may not change them; the workspace's purge deletes them
-- with it): what a board reads of them is when the newest was made. An import's "imported"
-- entries are written with their deals, in the same transaction (app/deals/imports.py): the
-- deals' own trigger bumps their boards, without a lookup per imported row.
create constraint trigger board_activities_added after insert on activities
    deferrable initially deferred for each row
    when (new.subject_type = 'deal' and new.action <> 'imported')
    execute function board_subject_changed();
create constraint trigger board_activities_changed after update of created_at on activities
    deferrable initially deferred for each row
    when ((old.subject_type = 'deal' or new.subject_type = 'deal')
          and old.created_at is distinct from new.created_at)
    execute function board_subject_changed();
"""
    + tenant_rls("board_versions")
    + """
-- the pipelines already there (RLS unforced for this transaction only: the owner sees them;
-- pipelines is locked first so none is added between the copy and the trigger)
lock table pipelines in share row exclusive mode;
alter table pipelines no force row level security;
alter table board_versions no force row level security;
insert into board_versions (pipeline_id, tenant_id) select p.id, p.tenant_id from pipelines p;
alter table pipelines force row level security;
alter table board_versions force row level security;
"""
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "deals", DESCRIPTION, SQL)
