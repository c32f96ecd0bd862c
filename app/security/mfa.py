"""TOTP two-factor authentication: enrolment with a QR code, recovery codes, verification.

The TOTP secret is stored encrypted (AES-256-GCM, app/core/crypto.py); recovery codes are
random and stored only as keyed hashes, each usable once. A TOTP time step is accepted once
(`last_step`), so a code seen over someone's shoulder can't be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from datetime import UTC, datetime
from uuid import UUID

import pyotp
import segno

from app.accounts.second_factor import is_enabled
from app.core.crypto import (
    Binding,
    bind,
    decrypt_text,
    encrypt_text,
    register_encrypted_column,
)
from app.core.db import global_transaction, tenant_transaction, user_transaction
from app.core.errors import FormInvalid
from app.core.passwords import verify_password
from app.settings import get_settings

register_encrypted_column("user_mfa", "secret_enc", key="user_id", tenant_scoped=False)


def _binding(user_id: UUID) -> Binding:
    """The TOTP secret is sealed to its user's row (global table: no tenant)."""
    return bind("user_mfa", "secret_enc", user_id)


ISSUER = "Odex CRM"
RECOVERY_CODES = 10
BAD_CODE = "That code didn't work. Use the 6-digit code your app shows now, or a recovery code."


def _code_hash(code: str) -> str:
    normal = code.replace("-", "").replace(" ", "").lower()
    key = get_settings().secret_key.encode()
    return hmac.new(key, b"mfa-recovery:" + normal.encode(), hashlib.sha256).hexdigest()


def _new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 40 bits each, single use
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


async def _check_password(user_id: UUID, password: str) -> str:
    """Re-authentication before changing MFA; returns the user's email."""
    async with global_transaction() as conn:
        row = await conn.fetchrow("select email, password_hash from users where id = $1", user_id)
    if row is None or not verify_password(row["password_hash"], password):
        raise FormInvalid({"current_password": "That isn't your current password."})
    return str(row["email"])


async def status(user_id: UUID) -> dict[str, object]:
    """Whether MFA is on, and how many unused recovery codes are left."""
    async with global_transaction() as conn:
        enabled = await conn.fetchval(
            "select enabled_at from user_mfa where user_id = $1 and enabled_at is not null",
            user_id,
        )
        left = await conn.fetchval(
            "select count(*) from mfa_recovery_codes where user_id = $1 and used_at is null",
            user_id,
        )
    return {"enabled": enabled is not None, "enabled_at": enabled, "codes_left": int(left or 0)}


def qr_svg_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (the CSP allows data: images)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


async def start_enrolment(user_id: UUID, email: str) -> dict[str, str]:
    """A new pending secret (replacing an unconfirmed one); returns what the page shows."""
    if await is_enabled(user_id):
        raise FormInvalid({"form": "Two-factor authentication is already on."})
    secret = pyotp.random_base32()
    async with global_transaction() as conn:
        await conn.execute(
            "insert into user_mfa (user_id, secret_enc) values ($1, $2) on conflict (user_id)"
            " do update set secret_enc = excluded.secret_enc, last_step = 0"
            " where user_mfa.enabled_at is null",
            user_id,
            encrypt_text(secret, binding=_binding(user_id)),
        )
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    return {"secret": secret, "uri": uri, "qr": qr_svg_data_uri(uri)}


async def pending_enrolment(user_id: UUID, email: str) -> dict[str, str] | None:
    """The unconfirmed secret, to show the same QR code again after a typo."""
    async with global_transaction() as conn:
        enc = await conn.fetchval(
            "select secret_enc from user_mfa where user_id = $1 and enabled_at is null", user_id
        )
    if not enc:
        return None
    secret = decrypt_text(enc, binding=_binding(user_id))
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    return {"secret": secret, "uri": uri, "qr": qr_svg_data_uri(uri)}


def _matching_step(secret: str, code: str, last_step: int) -> int | None:
    """The time step a code belongs to (±1 step of clock drift), if not used before."""
    code = code.replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp, now = pyotp.TOTP(secret), int(time.time())
    for drift in (0, -1, 1):
        step = now // totp.interval + drift
        if step > last_step and hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


async def confirm_enrolment(user_id: UUID, password: str, code: str) -> list[str]:
    """Turn MFA on after the password and a first code; returns the recovery codes (once)."""
    await _check_password(user_id, password)
    codes = _new_recovery_codes()
    async with global_transaction() as conn:
        row = await conn.fetchrow(
            "select secret_enc, last_step from user_mfa where user_id = $1"
            " and enabled_at is null for update",
            user_id,
        )
        if row is None:
            raise FormInvalid({"form": "Start again: scan a new QR code."})
        secret = decrypt_text(row["secret_enc"], binding=_binding(user_id))
        step = _matching_step(secret, code, int(row["last_step"]))
        if step is None:
            raise FormInvalid({"code": BAD_CODE})
        await conn.execute(
            "update user_mfa set enabled_at = now(), last_step = $2 where user_id = $1",
            user_id,
            step,
        )
        await _store_codes(conn, user_id, codes)
    return codes


async def _store_codes(conn: object, user_id: UUID, codes: list[str]) -> None:
    await conn.execute("delete from mfa_recovery_codes where user_id = $1", user_id)  # type: ignore[attr-defined]
    await conn.executemany(  # type: ignore[attr-defined]
        "insert into mfa_recovery_codes (id, user_id, code_hash) values ($1, $2, $3)",
        [(uuid.uuid4(), user_id, _code_hash(c)) for c in codes],
    )


async def regenerate_codes(user_id: UUID, password: str) -> list[str]:
    await _check_password(user_id, password)
    if not await is_enabled(user_id):
        raise FormInvalid({"form": "Turn on two-factor authentication first."})
    codes = _new_recovery_codes()
    async with global_transaction() as conn:
        await _store_codes(conn, user_id, codes)
    return codes


async def verify_second_factor(user_id: UUID, code: str) -> bool:
    """A current TOTP code (each time step once) or an unused recovery code (then used up)."""
    code = code.strip()
    if not code or len(code) > 20:
        return False
    async with global_transaction() as conn:
        row = await conn.fetchrow(
            "select secret_enc, last_step from user_mfa where user_id = $1"
            " and enabled_at is not null for update",
            user_id,
        )
        if row is None:
            return False
        secret = decrypt_text(row["secret_enc"], binding=_binding(user_id))
        step = _matching_step(secret, code, int(row["last_step"]))
        if step is not None:
            await conn.execute(
                "update user_mfa set last_step = $2 where user_id = $1", user_id, step
            )
            return True
        used = await conn.fetchval(
            "update mfa_recovery_codes set used_at = $3 where user_id = $1 and code_hash = $2"
            " and used_at is null returning id",
            user_id,
            _code_hash(code),
            datetime.now(UTC),
        )
        return used is not None


async def disable(user_id: UUID, password: str, code: str) -> None:
    """Turn MFA off: needs the password and a current code (or a recovery code), and no
    workspace the user owns may require it (whichever workspace the page is opened from)."""
    await _check_password(user_id, password)
    held_by = await workspaces_requiring_mfa(user_id)
    if held_by:
        raise FormInvalid(
            {
                "form": "Owners of "
                + ", ".join(held_by)
                + " must use two-factor authentication, so it stays on."
            }
        )
    if not await verify_second_factor(user_id, code):
        raise FormInvalid({"code": BAD_CODE})
    async with global_transaction() as conn:
        await conn.execute("delete from mfa_recovery_codes where user_id = $1", user_id)
        await conn.execute("delete from user_mfa where user_id = $1", user_id)


# --- workspace policy: MFA required for owners --------------------------------------------


async def owners_must_use_mfa(tenant_id: UUID) -> bool:
    async with tenant_transaction(tenant_id) as conn:
        return bool(
            await conn.fetchval("select mfa_required_for_owners from tenant_security limit 1")
        )


async def workspaces_requiring_mfa(user_id: UUID) -> list[str]:
    """Names of the workspaces the user owns that require MFA for owners (MFA can't be turned
    off while there is one, from whichever workspace the settings page is opened)."""
    async with user_transaction(user_id) as conn:
        owned = await conn.fetch(
            "select tenant_id from memberships where user_id = $1 and role = 'owner'"
            " order by created_at",
            user_id,
        )
    names = []
    for row in owned:
        async with tenant_transaction(row["tenant_id"]) as conn:
            name = await conn.fetchval(
                "select t.name from tenants t join tenant_security s on s.tenant_id = t.id"
                " where t.id = $1 and s.mfa_required_for_owners",
                row["tenant_id"],
            )
        if name:
            names.append(str(name))
    return names


async def set_owner_requirement(tenant_id: UUID, user_id: UUID, required: bool) -> None:
    """Owners only (checked by the caller's role); audit-logged."""
    from app.security.audit import record_audit

    async with tenant_transaction(tenant_id, user_id) as conn:
        await conn.execute(
            "insert into tenant_security (tenant_id, mfa_required_for_owners, updated_at)"
            " values ($1, $2, now()) on conflict (tenant_id) do update"
            " set mfa_required_for_owners = excluded.mfa_required_for_owners, updated_at = now()",
            tenant_id,
            required,
        )
        await record_audit(
            tenant_id,
            user_id,
            "security.mfa_policy_changed",
            "MFA required for owners" if required else "MFA optional for owners",
            {"mfa_required_for_owners": required},
        )
