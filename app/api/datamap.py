"""Where the api domain keeps personal data: members' API tokens (name, scopes, last use)."""

from __future__ import annotations

from app.core.datamap import register, tenant_table

OWNER = "api"


def _register() -> None:
    register(
        tenant_table(
            "api_tokens",
            OWNER,
            ("user",),
            "a member's API tokens: the name they gave, scopes, expiry and when each was last"
            " used (the token itself only as a keyed hash)",
            retention="until the member deletes their account or leaves the workspace",
            access="shown on Settings → API tokens",
            account_deletion="deleted (cascade from the account)",
            workspace_purge="deleted",
            user_columns=("user_id",),
            text_columns=("name",),
        )
    )


_register()
