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
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import pyotp
import segno
from piccolo.querystring import QueryString

from app.accounts.second_factor import is_enabled
from app.accounts.tables import Membership, Tenant, User
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
from app.security import queries
from app.security.tables import MfaRecoveryCode, TenantSecurity, UserMfa
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
    async with global_transaction():
        row = await User.select(User.email, User.password_hash).where(User.id == user_id).first()
    if row is None or not verify_password(row["password_hash"], password):
        raise FormInvalid({"current_password": "That isn't your current password."})
    return str(row["email"])


async def status(user_id: UUID) -> dict[str, object]:
    """Whether MFA is on, and how many unused recovery codes are left."""
    async with global_transaction():
        row = await (
            UserMfa.select(UserMfa.enabled_at)
            .where((UserMfa.user_id == user_id) & UserMfa.enabled_at.is_not_null())
            .first()
        )
        left = await MfaRecoveryCode.count().where(
            (MfaRecoveryCode.user_id == user_id) & MfaRecoveryCode.used_at.is_null()
        )
    enabled = row["enabled_at"] if row else None
    return {"enabled": enabled is not None, "enabled_at": enabled, "codes_left": int(left or 0)}


def qr_svg_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (the CSP allows data: images)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


async def start_enrolment(user_id: UUID, email: str) -> dict[str, str]:
    """A new pending secret (replacing an unconfirmed one); returns what the page shows."""
    if await is_enabled(user_id):
        raise FormInvalid({"form": "Two-factor authentication is already on."})
    secret = pyotp.random_base32()
    async with global_transaction():
        await queries.store_pending_secret(user_id, encrypt_text(secret, binding=_binding(user_id)))
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    return {"secret": secret, "uri": uri, "qr": qr_svg_data_uri(uri)}


async def pending_enrolment(user_id: UUID, email: str) -> dict[str, str] | None:
    """The unconfirmed secret, to show the same QR code again after a typo."""
    async with global_transaction():
        row = await (
            UserMfa.select(UserMfa.secret_enc)
            .where((UserMfa.user_id == user_id) & UserMfa.enabled_at.is_null())
            .first()
        )
    if not row or not row["secret_enc"]:
        return None
    secret = decrypt_text(str(row["secret_enc"]), binding=_binding(user_id))
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
        row = await queries.lock_secret(conn, user_id, enabled=False)
        if row is None:
            raise FormInvalid({"form": "Start again: scan a new QR code."})
        secret = decrypt_text(row.secret_enc, binding=_binding(user_id))
        step = _matching_step(secret, code, row.last_step)
        if step is None:
            raise FormInvalid({"code": BAD_CODE})
        await UserMfa.update(
            {UserMfa.enabled_at: QueryString("now()"), UserMfa.last_step: step}
        ).where(UserMfa.user_id == user_id)
        await _store_codes(conn, user_id, codes)
    return codes


async def _store_codes(conn: asyncpg.Connection, user_id: UUID, codes: list[str]) -> None:
    await queries.replace_recovery_codes(conn, user_id, [_code_hash(c) for c in codes])


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
        row = await queries.lock_secret(conn, user_id, enabled=True)
        if row is None:
            return False
        secret = decrypt_text(row.secret_enc, binding=_binding(user_id))
        step = _matching_step(secret, code, row.last_step)
        if step is not None:
            await UserMfa.update({UserMfa.last_step: step}).where(UserMfa.user_id == user_id)
            return True
        used = (
            await MfaRecoveryCode.update({MfaRecoveryCode.used_at: datetime.now(UTC)})
            .where(
                (MfaRecoveryCode.user_id == user_id)
                & (MfaRecoveryCode.code_hash == _code_hash(code))
                & MfaRecoveryCode.used_at.is_null()
            )
            .returning(MfaRecoveryCode.id)
        )
        return bool(used)


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
    async with global_transaction():
        await MfaRecoveryCode.delete().where(MfaRecoveryCode.user_id == user_id)
        await UserMfa.delete().where(UserMfa.user_id == user_id)


# --- workspace policy: MFA required for owners --------------------------------------------


async def owners_must_use_mfa(tenant_id: UUID) -> bool:
    async with tenant_transaction(tenant_id):
        row = await TenantSecurity.select(TenantSecurity.mfa_required_for_owners).first()
    return bool(row and row["mfa_required_for_owners"])


async def workspaces_requiring_mfa(user_id: UUID) -> list[str]:
    """Names of the workspaces the user owns that require MFA for owners (MFA can't be turned
    off while there is one, from whichever workspace the settings page is opened)."""
    async with user_transaction(user_id):
        owned = await (
            Membership.select(Membership.tenant_id)
            .where((Membership.user_id == user_id) & (Membership.role == "owner"))
            .order_by(Membership.created_at)
        )
    names = []
    for row in owned:
        tenant_id: UUID = row["tenant_id"]
        async with tenant_transaction(tenant_id):
            if await owners_must_use_mfa(tenant_id):  # joins this transaction
                tenant = await Tenant.select(Tenant.name).where(Tenant.id == tenant_id).first()
                if tenant is not None:
                    names.append(str(tenant["name"]))
    return names


async def set_owner_requirement(tenant_id: UUID, user_id: UUID, required: bool) -> None:
    """Owners only (checked by the caller's role); audit-logged."""
    from app.security.audit import record_audit

    async with tenant_transaction(tenant_id, user_id):
        await queries.set_owner_mfa_rule(tenant_id, required)
        await record_audit(
            tenant_id,
            user_id,
            "security.mfa_policy_changed",
            "MFA required for owners" if required else "MFA optional for owners",
            {"mfa_required_for_owners": required},
        )
