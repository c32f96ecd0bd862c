"""A revoked session never comes back: a request that was in flight when "sign out
everywhere", a password change or an admin's revoke happened cannot save it again, and a
login whose password was checked before the revocation is not saved either.

Each test plays the request's two ends as the session middleware does (load at the start,
save at the end) around the revocation, against the real Valkey."""

from __future__ import annotations

import time
from typing import Any

from app.core import sessions
from app.settings import get_settings
from tests.helpers import PASSWORD, Account, browser_client


def _sid(client: Any) -> str:
    return next(v for k, v in client.cookies.items() if k.endswith("odex_session"))


async def test_request_in_flight_does_not_bring_back_a_session_signed_out_everywhere(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    settings = get_settings()
    sid = _sid(client_a)
    in_flight = await sessions.load_session(sid, settings)  # the request starts
    assert in_flight is not None
    in_flight.flash("success", "Saved.")  # and changes its session (a toast)
    revoked = await sessions.destroy_user_sessions(str(tenant_a.user_id))  # meanwhile
    assert revoked == 1
    assert not await sessions.save_session(in_flight, settings)  # the request ends
    assert await sessions.load_session(sid, settings) is None
    assert (await client_a.get("/app")).headers["location"].startswith("/login")
    keys = [k for k, _ in await sessions.user_sessions(str(tenant_a.user_id))]
    assert keys == []


async def test_request_in_flight_does_not_bring_back_a_session_an_admin_revoked(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    settings = get_settings()
    sid = _sid(client_a)
    in_flight = await sessions.load_session(sid, settings)
    assert in_flight is not None
    in_flight.last_seen = time.time()
    in_flight.dirty = True
    assert await sessions.revoke_key(str(tenant_a.user_id), sessions.session_key(sid))
    assert not await sessions.save_session(in_flight, settings)
    assert await sessions.load_session(sid, settings) is None


async def test_login_checked_before_a_password_change_is_not_saved_after_it(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """The attacker's login verified the old password; the owner changed it (which signs out
    everywhere) before the attacker's response went out."""
    settings = get_settings()
    async with browser_client(app) as attacker:
        await attacker.refresh_csrf("/login")
        session = await sessions.load_session(_sid(attacker), settings)
        assert session is not None
        proved_at = time.time()  # the old password checks out
        await sessions.destroy_user_sessions(str(tenant_a.user_id))  # the password changes
        sessions.rotate(session)  # the login goes on: new id, signed in
        session.user_id, session.tenant_id = str(tenant_a.user_id), str(tenant_a.tenant_id)
        session.authenticated_at = proved_at
        assert not await sessions.save_session(session, settings)
        assert await sessions.load_session(session.sid, settings) is None
    async with browser_client(app) as owner:  # a login after the change works as always
        await owner.login(tenant_a.email, PASSWORD)
        assert (await owner.get("/app")).status_code == 200


async def test_login_racing_the_revocation_of_its_own_session_does_not_outlive_it(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """A session an admin revokes while it signs in again (e.g. accepting an invitation)
    must not survive under its new id."""
    settings = get_settings()
    sid = _sid(client_a)
    session = await sessions.load_session(sid, settings)
    assert session is not None
    sessions.rotate(session)
    session.authenticated_at = time.time()
    assert await sessions.revoke_key(str(tenant_a.user_id), sessions.session_key(sid))
    assert not await sessions.save_session(session, settings)
    assert await sessions.load_session(session.sid, settings) is None


async def test_the_session_that_changed_the_password_stays_signed_in(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    new = "a brand new passphrase here"
    async with browser_client(app) as other_tab:
        await other_tab.login(tenant_a.email, PASSWORD)
        changed = await client_a.post_form(
            "/settings/profile",
            {
                "section": "password",
                "current_password": PASSWORD,
                "new_password": new,
                "confirm": new,
            },
        )
        assert changed.status_code == 303
        assert (await client_a.get("/app")).status_code == 200
        assert (await other_tab.get("/app")).headers["location"].startswith("/login")
