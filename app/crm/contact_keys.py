"""Which contacts have one of some blind indexes (an exact email address or phone number), the
one home of that SQL: `contact_email_keys` and `contact_phone_keys` (kept by triggers on
contacts, migrations/crm) looked up with `key = any(...)`, leakproof, so their btree serves it
under RLS, where `emails_bidx && ...` / `phones_bidx && ...` on contacts scanned the workspace."""

from __future__ import annotations

KEY_TABLES = ("contact_email_keys", "contact_phone_keys")


def keyed_ids(tenant: str, keys: str, table: str) -> str:
    """A subquery of the ids of the tenant's (SQL parameter `tenant`) contacts having one of
    the blind indexes `keys` (a text[] SQL parameter) in one key `table`."""
    return (
        f"select k.contact_id from {table} k"
        f" where k.tenant_id = {tenant} and k.key = any({keys}::text[])"
    )


def has_key(alias: str, tenant: str, keys: str, tables: tuple[str, ...] = KEY_TABLES) -> str:
    """The condition that the contact `alias` has one of the blind indexes `keys` among its
    emails' or phones' (or those of the key `tables` given): its id in an array the planner
    reads once and looks up in the primary key."""
    found = " union ".join(keyed_ids(tenant, keys, table) for table in tables)
    return f"{alias}.id = any(array({found}))"
