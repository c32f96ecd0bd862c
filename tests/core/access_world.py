"""The world of the authorization matrix: workspace W with one of everything, workspace X with
one of everything (foreign ids), and every kind of person who may knock on W's routes.

Built once per module through the real services and the real login form; each principal has
its own browser client (cookies, CSRF token) and its own client address, so rate limits they
trip never reach other tests.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.accounts import team
from app.accounts.services import load_current
from app.api import tokens
from app.core import sessions
from app.core.db import global_transaction, tenant_transaction
from app.core.forms import parse
from app.crm import imports
from app.notifications.services import notify
from app.privacy import deletion, export
from app.security.alerts import raise_security_alert
from app.support import services as support
from tests.deals.helpers import current_of
from tests.helpers import PASSWORD, Account, BrowserClient, make_account, set_plan
from tests.privacy.everywhere import attach_sample
from tests.privacy.seed import seed_crm
from tests.security.helpers import add_member, enable_mfa, join_workspace, require_owner_mfa
from tests.webhooks.helpers import sample_webhook

ORIGIN = "http://testserver"
# path parameters that name a workspace's record (another workspace's must give 404)
FOREIGN_PARAMS = (
    "contact_id",
    "subject_id",
    "company_id",
    "deal_id",
    "pipeline_id",
    "stage_id",
    "invoice_id",
    "note_id",
    "task_id",
    "notification_id",
    "import_id",
    "export_id",
    "alert_id",
    "invitation_id",
    "membership_id",
    "tenant_id",
    "hook_id",
    "delivery_id",
    "attachment_id",
)


@dataclass
class Principal:
    """Who knocks, and what the matrix needs to know to predict the answer."""

    name: str
    client: BrowserClient
    signed_in: bool = False  # still signed in when the matrix runs
    role: str | None = None  # role in the workspace the session is in
    staff: bool = False
    held: bool = False  # an owner the workspace's MFA rule holds at the enrolment page
    in_w: bool = False  # the session is in workspace W (so W's ids are its own)
    anonymous: bool = False
    # the API token the same person holds (/api/v1 never reads cookies): made while they could,
    # so a removed member's, a revoked or an expired one answers 401 like their session
    token: str | None = None


@dataclass
class World:
    w: Account
    x: Account
    principals: list[Principal]
    # path parameter name -> (a value in W, the same kind of value in X or None)
    ids: dict[str, tuple[str, str | None]] = field(default_factory=dict)


def _client(app: Any, number: int) -> BrowserClient:
    transport = httpx.ASGITransport(app=app, client=(f"10.77.{number}.1", 40000 + number))
    return BrowserClient(transport=transport, base_url=ORIGIN, follow_redirects=False)


async def _sign_in(client: BrowserClient, account: Account, expect: str = "/app") -> None:
    await client.refresh_csrf("/login")
    response = await client.post_form("/login", {"email": account.email, "password": PASSWORD})
    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"] == expect


async def _membership(account: Account) -> str:
    async with tenant_transaction(account.tenant_id) as conn:
        found = await conn.fetchval(
            "select id from memberships where user_id = $1", account.user_id
        )
    return str(found)


async def _samples(owner: Account, victim: Account, tag: str) -> dict[str, str]:
    """One record of every kind a route takes an id of, in the owner's workspace."""
    seeded = await seed_crm(owner.tenant_id, owner.user_id, tag, contacts=2)
    current = await current_of(owner)
    async with tenant_transaction(owner.tenant_id) as conn:
        note = await conn.fetchval("select id from notes limit 1")
        task = await conn.fetchval("select id from tasks limit 1")
        notification = await notify(owner.tenant_id, owner.user_id, "mention", f"Hi {tag}")
    upload = Path(tempfile.mkdtemp()) / "people.csv"
    upload.write_text("first_name,last_name\nAda,Lovelace\n")
    import_id = await imports.start_import(current, "contacts", "people.csv", upload)
    export_id = await export.request_export(current, bom=False)
    alert = await raise_security_alert(
        owner.tenant_id, "login_new_device", victim.user_id, {"device": "x"}, "sess:none"
    )
    invitation = await team.invite(current, f"guest-{uuid.uuid4().hex[:8]}@example.com", "member")
    hook, delivery = await sample_webhook(current)
    attachment = await attach_sample(current)
    found = {
        "contact_id": str(seeded["contacts"][0]),
        "subject_id": str(seeded["contacts"][1]),
        "company_id": str(seeded["company"]),
        "deal_id": str(seeded["deal"]),
        "pipeline_id": str(seeded["pipeline"]),
        "stage_id": str(seeded["stage"]),
        "invoice_id": str(seeded["invoice"]),
        "note_id": str(note),
        "task_id": str(task),
        "notification_id": str(notification),
        "import_id": str(import_id),
        "export_id": str(export_id),
        "alert_id": str(alert),
        "invitation_id": str(invitation),
        "membership_id": await _membership(victim),
        "tenant_id": str(owner.tenant_id),
        "hook_id": str(hook),
        "delivery_id": str(delivery),
        "attachment_id": str(attachment),
    }
    assert set(found) == set(FOREIGN_PARAMS)
    return found


async def _token(account: Account, workspace: Account) -> str:
    """An API token with every scope, made by `account` in `workspace`."""
    current = await load_current(account.user_id, workspace.tenant_id)
    assert current is not None
    raw, _ = await tokens.issue_token(current, "matrix", list(tokens.OFFERED), 30, 10_000)
    return raw


async def build_world(app: Any, stack: AsyncExitStack) -> World:
    """Workspaces W and X, and the principals (see test_access_matrix for the list)."""
    x = await make_account("X")
    w = await make_account("W")
    for workspace in (w, x):
        await set_plan(workspace, "business")  # seats for everyone below
    admin, member = await add_member(w, "admin"), await add_member(w, "member")
    staff = await add_member(w, "member", tag="staff")
    removed, revoked = await add_member(w, tag="removed"), await add_member(w, tag="revoked")
    half, victim = await add_member(w, tag="halfmfa"), await add_member(w, tag="victim")
    x_victim = await add_member(x, tag="victim")
    cross = await make_account("Y")  # owns Y, and is a member of W
    await join_workspace(cross.user_id, w.tenant_id, "member")
    pending, purging, held = (
        await make_account("P"),
        await make_account("Q"),
        await make_account("T"),
    )
    async with global_transaction() as conn:
        await conn.execute("update users set is_staff = true where id = $1", staff.user_id)
    await enable_mfa(half.user_id)
    await require_owner_mfa(held.tenant_id)
    await deletion.request_deletion(await current_of(pending), "workspace", PASSWORD)
    own, foreign = await _samples(w, victim, "W"), await _samples(x, x_victim, "X")
    ticket = await support.submit_inquiry(
        parse(
            support.Inquiry,
            {
                "name": "Visitor",
                "email": f"visitor-{uuid.uuid4().hex[:8]}@example.com",
                "topic": "general",
                "subject": "Help",
                "message": "Hello there, please help.",
            },
        ),
        None,
        "10.77.0.1",
    )

    c = [await stack.enter_async_context(_client(app, n)) for n in range(1, 13)]
    people = [
        Principal("anonymous", c[0], anonymous=True),
        Principal("member", c[1], True, "member", in_w=True),
        Principal("admin", c[2], True, "admin", in_w=True),
        Principal("owner", c[3], True, "owner", in_w=True),
        Principal("owner elsewhere, member here", c[4], True, "member", in_w=True),
        Principal("staff (member here)", c[5], True, "member", staff=True, in_w=True),
        Principal("removed member, session open", c[6]),
        Principal("revoked session", c[7]),
        Principal("password but not MFA", c[8]),
        Principal("owner, workspace deletion scheduled", c[9], True, "owner"),
        Principal("owner, workspace being purged", c[10]),
        Principal("owner held by the owner-MFA rule", c[11], True, "owner", held=True),
    ]
    await people[0].client.refresh_csrf("/login")
    signed = [
        (people[1], member),
        (people[2], admin),
        (people[3], w),
        (people[4], cross),
        (people[5], staff),
        (people[6], removed),
        (people[7], revoked),
        (people[9], pending),
        (people[10], purging),
    ]
    await asyncio.gather(*(_sign_in(p.client, a) for p, a in signed))
    await asyncio.gather(*(p.client.refresh_csrf("/app") for p, _ in signed))
    switched = await people[4].client.post_form(f"/workspaces/{w.tenant_id}/switch")
    assert switched.status_code == 303  # the cross owner signed in to Y first, now in W
    await people[4].client.refresh_csrf("/app")
    await _sign_in(people[8].client, half, expect="/login/mfa")
    await people[8].client.refresh_csrf("/login/mfa")
    await _sign_in(people[11].client, held)
    await people[11].client.refresh_csrf("/settings/security")  # the one page open to them
    api_tokens = {
        p.name: await _token(account, w if p.in_w else account)
        for p, account in [*signed, (people[8], half), (people[11], held)]
    }
    # what happened to them after they signed in
    await team.remove_member(await current_of(w), uuid.UUID(await _membership(removed)))
    await sessions.destroy_user_sessions(str(revoked.user_id))
    async with tenant_transaction(purging.tenant_id) as conn:
        await conn.execute(
            "update tenants set status = 'deleting' where id = $1", purging.tenant_id
        )

    async with tenant_transaction(w.tenant_id) as conn:  # revoked with the session; not past MFA
        await conn.execute(
            "update api_tokens set revoked_at = now() where token_hash = $1",
            tokens.token_hash(api_tokens[people[7].name]),
        )
        await conn.execute(
            "update api_tokens set expires_at = now() - interval '1 second' where token_hash = $1",
            tokens.token_hash(api_tokens[people[8].name]),
        )
    for p in people:
        p.token = api_tokens.get(p.name)
    ids: dict[str, tuple[str, str | None]] = {k: (v, foreign[k]) for k, v in own.items()}
    ids["subject_type"] = ("contact", None)
    ids["session_id"] = ("not-a-session-of-theirs", None)
    ids["ticket_id"] = (str(ticket), None)  # platform data (staff), not a workspace's
    ids["file_path"] = ("js/app.js", None)
    return World(w, x, people, ids)
