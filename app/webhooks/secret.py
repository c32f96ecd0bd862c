"""A subscription's signing secret: made once, shown once, stored as ciphertext bound to its
row (app/core/crypto.py). Importing this module registers the column for key rotation (it is
listed in crypto.ENCRYPTION_MODULES)."""

from __future__ import annotations

import secrets
from uuid import UUID

from app.core.crypto import bind, decrypt_text, encrypt_text, register_encrypted_column

register_encrypted_column("webhook_subscriptions", "secret_enc")
register_encrypted_column("webhook_subscriptions", "previous_secret_enc")
PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def seal_secret(secret: str, tenant_id: UUID, hook_id: UUID, column: str = "secret_enc") -> str:
    """`column` is secret_enc, or previous_secret_enc for the one a rotation replaced."""
    binding = bind("webhook_subscriptions", column, hook_id, tenant_id)
    return encrypt_text(secret, binding=binding)


def open_secret(sealed: str, tenant_id: UUID, hook_id: UUID, column: str = "secret_enc") -> str:
    return decrypt_text(sealed, binding=bind("webhook_subscriptions", column, hook_id, tenant_id))
