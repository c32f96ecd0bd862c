"""CRM: the dashboard's every-page read in one round trip, `odex_dashboard_state(tenant, user)`.

A dashboard page whose content is kept (app/crm/dashboard.py) reads only its state (versions,
my tasks, the checklist's facts, the record counts): one statement, which in a transaction of
its own was three round trips (BEGIN with the RLS scope, the query, COMMIT). Like
`odex_signed_in` (accounts 1.44.0) and `odex_board_pipelines` (deals 1.46.0), this function
sets the same transaction-local scope (`set_config(..., true)`) and then runs the query, so
one statement in autocommit does all three; the scope ends with the statement's own
transaction. Inside an open transaction of the same tenant and user (the state read again
with the figures) it sets the values already set. Security invoker: RLS applies as for any
query of the app role. The query is app/crm/dashboard_queries.py's DASHBOARD_STATE."""

from app.core.migrations import self_scoped_function, sql_migration

ID = "2026-12-05T00:50:00:000000"
VERSION = "1.48.0"
DESCRIPTION = "odex_dashboard_state(): the dashboard's every-page read with its RLS scope"

SQL = self_scoped_function(
    "odex_dashboard_state",
    "p_tenant uuid, p_user uuid",
    """table (
        version bigint, epoch bigint, contacts bigint, companies bigint, hidden boolean,
        people boolean, team boolean, pipeline boolean, tasks text
    )""",
    """
            select v.version::bigint, e.version::bigint, rc.contacts::bigint,
                   rc.companies::bigint,
                   m.onboarding_hidden_at is not null,
                   case when m.onboarding_hidden_at is null then
                        rc.contacts > 0 or exists (select 1 from crm_imports) end,
                   case when m.onboarding_hidden_at is null then
                        (select count(*) from memberships ms where ms.tenant_id = p_tenant) > 1
                        or exists (select 1 from invitations) end,
                   case when m.onboarding_hidden_at is null then
                        (select count(*) from pipelines) > 1
                        or exists (select 1 from stages s where s.version > 1)
                        or exists (select 1 from pipelines p where p.version > 1) end,
                   coalesce((
                        select json_agg(json_build_object('id', t.id, 'title', t.title,
                                                          'due_date', t.due_date,
                                                          'subject_type', t.subject_type,
                                                          'subject_id', t.subject_id)
                                        order by t.due_date, t.created_at)
                          from (select k.id, k.title, k.due_date, k.subject_type,
                                       k.subject_id, k.created_at
                                  from tasks k where k.assignee_id = p_user
                                   and k.done_at is null
                                 order by k.due_date, k.created_at limit 6) t
                   ), '[]')::text
              from board_epoch e
             cross join lateral (
                select coalesce(max(r.total) filter (where r.kind = 'contact'), 0) as contacts,
                       coalesce(max(r.total) filter (where r.kind = 'company'), 0) as companies
                  from record_counts r where r.tenant_id = p_tenant
             ) rc
              left join dashboard_versions v on v.tenant_id = p_tenant
              left join memberships m on m.tenant_id = p_tenant and m.user_id = p_user
""",
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
