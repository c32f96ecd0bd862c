"""CRM: a company page's state in one round trip, `odex_company_page_state(tenant, user, company)`.

A company page whose content is kept (app/crm/company_page.py) reads only its state: whether
the company is there, its record version, the people epoch, digests of the few workspace rows
it also shows and the minute of now(). In a transaction of its own (the page's one read) that
was four round trips (BEGIN with the RLS scope, the signed-in check, the state, COMMIT). Like
`odex_board_pipelines` (deals 1.46.0), this function sets the same transaction-local scope
(`set_config(..., true)`) and then runs the query, so one statement in autocommit does it;
the scope ends with the statement's own transaction. Inside an open transaction of the same
tenant and user (a page read again with its parts) it sets the values already set. Security
invoker: RLS applies as for any query of the app role."""

from app.core.migrations import self_scoped_function, sql_migration

ID = "2026-12-05T00:40:00:000000"
VERSION = "1.48.0"
DESCRIPTION = "odex_company_page_state(): a company page's versions with their RLS scope"

SQL = self_scoped_function(
    "odex_company_page_state",
    "p_tenant uuid, p_user uuid, p_company uuid",
    """table (
        is_there boolean, record_version bigint, people_epoch bigint, fields_digest text,
        members_digest text, stages_digest text, participants_digest text, at_minute bigint
    )""",
    """
            select exists (select 1 from companies c where c.id = p_company),
                   coalesce((select v.version from record_versions v
                             where v.subject_type = 'company' and v.subject_id = p_company), 0),
                   (select e.version from record_epoch e where e.id = 1),
                   (select md5(coalesce(string_agg(f.id::text || '.' || f.xmin::text, ','
                                                   order by f.id), ''))
                      from custom_fields f
                     where f.tenant_id = p_tenant and f.object_kind = 'company'),
                   (select md5(coalesce(string_agg(m.user_id::text || '.' || m.xmin::text, ','
                                                   order by m.user_id), ''))
                      from memberships m where m.tenant_id = p_tenant),
                   (select md5(coalesce(string_agg(s.id::text || '.' || s.xmin::text, ','
                                                   order by s.id), ''))
                      from stages s
                     where s.id in (select d.stage_id from deals d
                                    where d.tenant_id = p_tenant and d.company_id = p_company)),
                   (select md5(coalesce(string_agg(p.id::text || '.' || p.xmin::text, ','
                                                   order by p.id), ''))
                      from contacts p
                     where p.id in (select unnest(t.participant_ids) from tasks t
                                    where t.tenant_id = p_tenant and t.subject_type = 'company'
                                      and t.subject_id = p_company)),
                   floor(extract(epoch from now()) / 60)::bigint
""",
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
