"""Security: audit entries whose personal fields can be erased without breaking the chain."""

from app.core.migrations import sql_migration

ID = "2026-12-02T05:37:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "redactable audit entries (format 2)"

# Format 2 entries hash a salted digest of their personal fields (actor, label, target,
# details) instead of the fields themselves. Erasing a person (account deletion) replaces those
# fields with a placeholder, drops the salt and keeps the digest: the chain still verifies,
# and the verifier refuses any other change. Format 1 entries (written before) keep their
# fields in the hash and can't be erased.
SQL = """
alter table audit_log add column format smallint not null default 1
    check (format in (1, 2));
alter table audit_log add column salt text;
alter table audit_log add column personal_digest text;
alter table audit_log add column erased_at timestamptz;
grant update (actor_id, actor_label, target, details, salt, personal_digest, erased_at)
    on audit_log to odex_app;
-- ...and that is the only update there is: an erasure of a format 2 entry's personal fields,
-- once. Anything else is refused as a privilege error, like before the grant. (The schema
-- owner is not held: it could drop the trigger anyway; the chain's verification catches it.)
create function audit_log_erase_only() returns trigger
language plpgsql set search_path = pg_catalog as $$
begin
    if current_user <> 'odex_app' then
        return new;
    end if;
    if old.format = 2 and old.personal_digest is null and new.personal_digest is not null
       and new.actor_id is null and new.actor_label = '' and new.target = ''
       and new.details = '{}'::jsonb and new.salt is null and new.erased_at is not null
       and new.id = old.id and new.tenant_id = old.tenant_id and new.seq = old.seq
       and new.created_at = old.created_at and new.action = old.action
       and new.prev_hash = old.prev_hash and new.hash = old.hash and new.format = old.format
    then
        return new;
    end if;
    raise exception 'audit entries are append-only (only a person''s erasure may blank them)'
        using errcode = 'insufficient_privilege';
end
$$;
create trigger audit_log_erase_only before update on audit_log
    for each row execute function audit_log_erase_only();
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "security", DESCRIPTION, SQL)
