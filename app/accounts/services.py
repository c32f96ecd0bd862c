"""Account actions: sign up, verify, log in, reset passwords, edit profile and company."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

import asyncpg

from app.accounts import queries
from app.accounts.queries import Workspace
from app.accounts.roles import require_admin
from app.accounts.schemas import Current
from app.accounts.tables import Membership, SellerDetails, Tenant, User
from app.accounts.tokens import issue_token, redeem_token, void_tokens
from app.accounts.users import user_by_email
from app.core.db import global_transaction, self_scoped, tenant_transaction, user_transaction
from app.core.errors import FormInvalid
from app.core.events import AccountSecurityEvent, WorkspaceCreated, emit
from app.core.mail import queue_mail
from app.core.passwords import hash_password, needs_rehash, password_problem, verify_password
from app.settings import get_settings

DUPLICATE_EMAIL = "An account with this email already exists. Log in, or reset your password."


async def _send_verification(user_id: UUID, email: str, name: str) -> None:
    settings = get_settings()
    token = await issue_token(
        "verify", email, timedelta(hours=settings.token_ttl_hours), user_id=user_id
    )
    await queue_mail(
        "verify",
        email,
        "Confirm your email for Odex CRM",
        "verify.txt",
        name=name,
        link=f"{settings.base_url}/verify?token={token}",
        hours=settings.token_ttl_hours,
    )


async def sign_up(name: str, email: str, company: str, password: str) -> tuple[UUID, UUID]:
    """Create a tenant and its owner in one transaction; mail a verification link.

    The values are read by accounts.forms.SignupForm. Returns (user_id, tenant_id); raises
    FormInvalid when the address already has an account.
    """
    user_id, tenant_id = uuid.uuid4(), uuid.uuid4()
    try:
        async with tenant_transaction(tenant_id, user_id):
            if await user_by_email(email):
                raise FormInvalid({"email": DUPLICATE_EMAIL})
            await User.insert(
                User(id=user_id, email=email, name=name, password_hash=hash_password(password))
            )
            await Tenant.insert(Tenant(id=tenant_id, name=company))
            await Membership.insert(
                Membership(id=uuid.uuid4(), tenant_id=tenant_id, user_id=user_id, role="owner")
            )
            await emit(WorkspaceCreated(tenant_id))  # deals: the default pipeline
            await _send_verification(user_id, email, name)
    except asyncpg.UniqueViolationError as exc:  # two sign-ups with one email at once
        raise FormInvalid({"email": DUPLICATE_EMAIL}) from exc
    return user_id, tenant_id


async def verify_email(token: str) -> UUID:
    """Mark the token's address verified (if it is still the account's address)."""
    async with global_transaction():
        row = await redeem_token(token, "verify")
        await User.update({User.email_verified_at: datetime.now(UTC)}).where(
            (User.id == row.user_id) & (User.email == row.email)
        )
        return UUID(str(row.user_id))


async def resend_verification(user_id: UUID) -> None:
    async with global_transaction():
        user = await User.select().where(User.id == user_id).first()
        if user is None or user["email_verified_at"] is not None:
            return
        await void_tokens(user_id, "verify")
        await _send_verification(user_id, user["email"], user["name"])


async def authenticate(email: str, password: str) -> UUID:
    """The user id for a correct email + password; one vague message otherwise."""
    async with global_transaction():
        user = await user_by_email(email)
        ok = verify_password(user.password_hash if user else None, password)
        if not user or not ok:
            raise FormInvalid({"form": "That email and password don't match an account."})
        user_id = user.id
        if needs_rehash(user.password_hash):
            await User.update({User.password_hash: hash_password(password)}).where(
                User.id == user_id
            )
        return user_id


async def request_password_reset(email: str) -> None:
    """Mail a single-use, expiring reset link if the address has an account (silent if not)."""
    settings = get_settings()
    async with global_transaction():
        user = await user_by_email(email)
        if user is None:
            return
        user_id = user.id
        await void_tokens(user_id, "reset")
        token = await issue_token(
            "reset",
            user.email,
            timedelta(minutes=settings.reset_ttl_minutes),
            user_id=user_id,
        )
        await queue_mail(
            "reset",
            user.email,
            "Reset your Odex CRM password",
            "reset.txt",
            name=user.name,
            link=f"{settings.base_url}/password/reset?token={token}",
            minutes=settings.reset_ttl_minutes,
        )


async def reset_password(token: str, password: str) -> UUID:
    """Set a new password (read by ResetForm) with a reset token; the token then no longer
    works."""
    async with global_transaction():
        row = await redeem_token(token, "reset")
        user_id = UUID(str(row.user_id))
        await void_tokens(user_id, "reset")  # any other link sent before is void too
        await User.update(
            {
                User.password_hash: hash_password(password),
                User.updated_at: datetime.now(UTC),
                # the link proved the mailbox is theirs
                User.email_verified_at: datetime.now(UTC),
            }
        ).where(User.id == user_id)
    await emit(AccountSecurityEvent(user_id, "password_changed", {"summary": "with a reset link"}))
    return user_id


async def workspaces_of(user_id: UUID) -> list[dict[str, object]]:
    """The user's memberships across tenants (the own-memberships policy allows this)."""
    async with user_transaction(user_id):
        rows = (
            await Membership.select(Membership.tenant_id, Membership.role)
            .where(Membership.user_id == user_id)
            .order_by(Membership.created_at)
        )
    return [dict(r) for r in rows]


async def list_workspaces(user_id: UUID) -> list[Workspace]:
    """The user's open workspaces with names and roles, in one query (the own-memberships
    and own-workspaces policies allow it outside a workspace); a workspace whose purge has
    started is left out: nobody signs in to it any more."""
    async with user_transaction(user_id):
        return await queries.open_workspaces(user_id)


async def load_current(user_id: UUID, tenant_id: UUID) -> Current | None:
    """The signed-in context, or None if the membership is gone (removed from the team) or the
    workspace is being purged. Only this workspace's membership row counts (never the user's
    rows of other workspaces), and an owner held by the owner-MFA rule is marked."""
    row = await self_scoped(
        tenant_id, user_id, partial(queries.signed_in_row, tenant_id=tenant_id, user_id=user_id)
    )
    return _current(user_id, tenant_id, row)


async def load_current_with(
    user_id: UUID, tenant_id: UUID, sql: str, params: tuple[object, ...]
) -> tuple[Current | None, list[asyncpg.Record]]:
    """`load_current` with a page's state read in the same statement (`sql`:
    `queries.signed_in_with_sql`, the state gated on the signed-in row): one round trip for
    both. The state's rows are empty unless the signed-in row lets the user see the page."""

    async def read(conn: asyncpg.Connection) -> tuple[queries.SignedInRow | None, list[Any]]:
        return await queries.signed_in_with(conn, sql, tenant_id, user_id, *params)

    # the page's one statement while it is kept: the request's connection goes back after it
    # (a page's later work, its Valkey reads and rendering, keeps none from the pool)
    row, rows = await self_scoped(tenant_id, user_id, read, last=True)
    current = _current(user_id, tenant_id, row)
    return current, rows if current is not None else []


def _current(user_id: UUID, tenant_id: UUID, row: queries.SignedInRow | None) -> Current | None:
    if row is None:
        return None
    return Current(
        user_id=user_id,
        name=row.name,
        email=row.email,
        verified=row.email_verified_at is not None,
        tenant_id=tenant_id,
        tenant_name=row.tenant_name,
        role=row.role,
        is_staff=row.is_staff,
        must_enrol_mfa=row.mfa_held,  # the owner-MFA rule, asked in the same query
        time_zone=row.time_zone,
        locale=row.locale,
    )


async def update_profile(current: Current, name: str) -> None:
    """Correct the user's name (read by ProfileName)."""
    async with global_transaction():
        await User.update({User.name: name, User.updated_at: datetime.now(UTC)}).where(
            User.id == current.user_id
        )


async def change_email(current: Current, new_email: str, password: str) -> None:
    """Change the login email after re-entering the password; the new address is verified."""
    email = new_email
    async with global_transaction():
        user = await User.select().where(User.id == current.user_id).first()
        assert user is not None
        if not verify_password(user["password_hash"], password):
            raise FormInvalid({"current_password": "That isn't your current password."})
        if email.lower() == str(user["email"]).lower():
            return
        existing = await user_by_email(email)
        if existing:
            raise FormInvalid({"email": "Another account already uses this email."})
        try:
            await User.update(
                {
                    User.email: email,
                    User.email_verified_at: None,
                    User.updated_at: datetime.now(UTC),
                }
            ).where(User.id == current.user_id)
        except asyncpg.UniqueViolationError as exc:
            raise FormInvalid({"email": "Another account already uses this email."}) from exc
        await void_tokens(current.user_id, "reset")  # links mailed to the old address die
        await _send_verification(current.user_id, email, str(user["name"]))
        await queue_mail(  # the old address hears of it (a hijacker can't hide the change)
            "email_changed",
            str(user["email"]),
            "The email address of your Odex CRM account was changed",
            "email_changed.txt",
            name=user["name"],
            old=user["email"],
            new=email,
            contact=get_settings().privacy_contact,
        )
    await emit(
        AccountSecurityEvent(current.user_id, "email_changed", {"from": user["email"], "to": email})
    )


async def change_password(current: Current, old: str, new: str) -> None:
    """Change the password after re-entering the old one (ProfilePassword read the form)."""
    problem = password_problem(new, email=current.email, name=current.name)
    if problem:
        raise FormInvalid({"new_password": problem})
    async with global_transaction():
        user = await User.select().where(User.id == current.user_id).first()
        assert user is not None
        if not verify_password(user["password_hash"], old):
            raise FormInvalid({"current_password": "That isn't your current password."})
        await User.update(
            {User.password_hash: hash_password(new), User.updated_at: datetime.now(UTC)}
        ).where(User.id == current.user_id)
        await void_tokens(current.user_id, "reset")  # an older reset link can't undo this
    await emit(AccountSecurityEvent(current.user_id, "password_changed", {}))


SELLER_FIELDS = ("legal_name", "address", "vat_id", "payment_details", "invoice_footer")
SELLER_STALE = (
    "Someone changed the seller details since you opened this page. Reload it and make your"
    " change again."
)
# the company settings (seller details, name, currency) are the admins' and owners'
_require_settings_admin = partial(require_admin, why="Only admins can change company settings.")


async def get_seller(current: Current) -> dict[str, str | int]:
    """The workspace's seller details (empty texts and version 1 until first saved)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        row = await (
            SellerDetails.select().where(SellerDetails.tenant_id == current.tenant_id).first()
        )
    if row is None:
        return {**dict.fromkeys(SELLER_FIELDS, ""), "version": 1}
    values: dict[str, str | int] = {key: str(row[key]) for key in SELLER_FIELDS}
    values["version"] = int(row["version"])
    return values


async def save_seller(current: Current, values: Mapping[str, object], version: int) -> None:
    """Admins and owners set the seller details, if they are still the `version` the page
    showed (else FormInvalid: no lost update)."""
    _require_settings_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        if await queries.lock_seller_version(conn, current.tenant_id) != version:
            raise FormInvalid({"form": SELLER_STALE})
        await SellerDetails.update(
            {
                **{getattr(SellerDetails, key): values[key] for key in SELLER_FIELDS},
                SellerDetails.version: version + 1,
                SellerDetails.updated_by: current.user_id,
                SellerDetails.updated_at: datetime.now(UTC),
            }
        ).where(SellerDetails.tenant_id == current.tenant_id)


async def rename_company(current: Current, name: str) -> None:
    """Admins and owners correct the company name."""
    _require_settings_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id):
        await Tenant.update({Tenant.name: name, Tenant.updated_at: datetime.now(UTC)}).where(
            Tenant.id == current.tenant_id
        )


async def update_region(current: Current, time_zone: str, locale: str) -> None:
    """The person's time zone and locale (read by ProfileRegion: a known zone and locale)."""
    async with global_transaction():
        await User.update(
            {User.time_zone: time_zone, User.locale: locale, User.updated_at: datetime.now(UTC)}
        ).where(User.id == current.user_id)


async def get_currency(current: Current) -> dict[str, object]:
    """The workspace's default currency, its exchange rates as the form's lines, the version."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await conn.fetchrow(
            "select default_currency, currency_version from tenants where id = $1",
            current.tenant_id,
        )
        rates = await conn.fetch("select currency, rate from exchange_rates order by currency")
    lines = "\n".join(f"{r['currency']} {r['rate'].normalize():f}" for r in rates)
    return {
        "default_currency": row["default_currency"] if row else "EUR",
        "rates": lines,
        "version": row["currency_version"] if row else 1,
    }


async def save_currency(
    current: Current, default_currency: str, rates: dict[str, Decimal], version: int
) -> None:
    """Admins set the default currency and replace the exchange rates, if the page showed the
    current `version` (else FormInvalid: no lost update)."""
    _require_settings_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        done = await conn.fetchval(
            "update tenants set default_currency = $2, currency_version = currency_version + 1,"
            " updated_at = now() where id = $1 and currency_version = $3 returning id",
            current.tenant_id,
            default_currency,
            version,
        )
        if done is None:
            raise FormInvalid(
                {"form": "Someone changed the currency settings meanwhile. Reload and try again."}
            )
        await conn.execute("delete from exchange_rates")
        await conn.executemany(
            "insert into exchange_rates (tenant_id, currency, rate) values ($1, $2, $3)",
            [(current.tenant_id, code, rate) for code, rate in rates.items()],
        )
