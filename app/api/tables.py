"""Piccolo tables of the api app (DDL and RLS live in migrations/api)."""

from piccolo.columns import UUID, Array, Integer, Text, Timestamptz
from piccolo.table import Table

from app.core.columns import Created, Revocable, TenantRow


class ApiToken(TenantRow, Created, Revocable, Table, tablename="api_tokens"):
    """A member's API token: only its keyed hash is stored; it acts as its membership, within
    its scopes, until it expires or is revoked."""

    membership_id = UUID()
    user_id = UUID()
    name = Text()
    token_hash = Text()
    hint = Text()  # the last characters, so people can tell their tokens apart
    scopes = Array(base_column=Text())
    rate_per_minute = Integer(default=600)
    last_used_at = Timestamptz(null=True, default=None)
