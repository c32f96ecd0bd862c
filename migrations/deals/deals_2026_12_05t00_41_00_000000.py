"""Deals: a deal edit form's state in one round trip, `odex_deal_form_state(tenant, user, deal)`.

A deal's edit form whose markup is kept (app/deals/edit_form.py) reads only the row versions
(`xmin`) of what it shows. In the page's one transaction that was four round trips (BEGIN with
the RLS scope, the signed-in check, the versions, COMMIT). Like `odex_board_pipelines` (1.46.0),
this function sets the same transaction-local scope (`set_config(..., true)`) and then runs
the query, so one statement in autocommit does it; the scope ends with the statement's own
transaction. Inside an open transaction of the same tenant and user (a form read again with
its parts) it sets the values already set. No row: another workspace's (RLS) or a deleted
deal. Security invoker: RLS applies as for any query of the app role."""

from app.core.migrations import self_scoped_function, sql_migration

ID = "2026-12-05T00:41:00:000000"
VERSION = "1.48.0"
DESCRIPTION = "odex_deal_form_state(): a deal edit form's row versions with their RLS scope"

SQL = self_scoped_function(
    "odex_deal_form_state",
    "p_tenant uuid, p_user uuid, p_deal uuid",
    """table (
        deal_row text, company_row text, contacts_digest text, fields_digest text,
        members_digest text, stages_digest text, pipelines_digest text
    )""",
    """
            select d.xmin::text,
                   (select c.xmin::text from companies c where c.id = d.company_id),
                   (select md5(coalesce(string_agg(dc.contact_id::text || '.' || c.xmin::text,
                                                   ',' order by dc.contact_id), ''))
                      from deal_contacts dc join contacts c on c.id = dc.contact_id
                     where dc.deal_id = d.id),
                   (select md5(coalesce(string_agg(f.id::text || '.' || f.xmin::text, ','
                                                   order by f.id), ''))
                      from custom_fields f
                     where f.tenant_id = p_tenant and f.object_kind = 'deal'),
                   (select md5(coalesce(string_agg(m.user_id::text || '.' || m.xmin::text || '.'
                                                   || coalesce(u.xmin::text, ''), ','
                                                   order by m.user_id), ''))
                      from memberships m left join users u on u.id = m.user_id
                     where m.tenant_id = p_tenant),
                   (select md5(coalesce(string_agg(s.id::text || '.' || s.xmin::text, ','
                                                   order by s.id), ''))
                      from stages s where s.tenant_id = p_tenant),
                   (select md5(coalesce(string_agg(p.id::text || '.' || p.xmin::text, ','
                                                   order by p.id), ''))
                      from pipelines p where p.tenant_id = p_tenant)
              from deals d where d.id = p_deal
""",
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "deals", DESCRIPTION, SQL)
