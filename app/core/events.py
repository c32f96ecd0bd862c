"""A small typed in-process event registry: how a lower domain tells a higher one something.

Domains depend downward only (core <- accounts <- the rest). When a lower domain's action must
set off work that belongs to a higher one (a new workspace gets the default pipeline, a team
change raises a security alert), the lower domain `emit`s a frozen event declared here and the
higher domain `subscribe`s a handler at start-up (its `Domain` in app/<domain>/domain.py, wired
by `app.domains.load`). Handlers run at once, in subscription order, inside the caller's
transaction, exactly where the call used to be; an exception propagates to the emitter (a plan
limit refuses the invitation). Work that must wait for the commit uses `after_commit` itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

E = TypeVar("E")
Handler = Callable[[Any], Awaitable[None]]

_handlers: dict[type, list[Handler]] = {}
_wired = False


@dataclass(frozen=True)
class WorkspaceCreated:
    """Sign-up created a workspace (inside the sign-up transaction)."""

    tenant_id: UUID


@dataclass(frozen=True)
class SeatsRequested:
    """An invitation wants `adding` more seats in the workspace; a handler raises to refuse."""

    tenant_id: UUID
    adding: int = 1


@dataclass(frozen=True)
class WorkspaceSecurityEvent:
    """Something in one workspace its admins must hear of (a team change, a new device)."""

    tenant_id: UUID
    kind: str
    actor_id: UUID | None
    details: dict[str, object] = field(default_factory=dict)
    session_key: str | None = None


@dataclass(frozen=True)
class AccountSecurityEvent:
    """Something about a person's account (password, email, lockout) every workspace of theirs
    must hear of."""

    user_id: UUID
    kind: str
    details: dict[str, object] = field(default_factory=dict)
    session_key: str | None = None


@dataclass(frozen=True)
class RecordChanged:
    """A CRM record (contact, company, deal, invoice) was written: its timeline entry
    (`app.crm.activity.record_activity`) emits this inside the writing transaction, so a
    subscriber's rows commit, or roll back, with the change. `changes` is the timeline's
    (redacted) field diff: {field: {"from", "to"}}."""

    tenant_id: UUID
    subject_type: str
    subject_id: UUID
    action: str  # created | updated | deleted | moved | status | ...
    actor_id: UUID | None
    changes: dict[str, dict[str, object]] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberJoined:
    """Someone joined a workspace (an accepted invitation), inside that transaction."""

    tenant_id: UUID
    user_id: UUID
    role: str


def subscribe(event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
    """Run `handler` on every `event_type` emitted (registered once, at start-up)."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def mark_wired() -> None:
    """Every domain's subscriptions are in (called by app.domains.load)."""
    global _wired
    _wired = True


async def emit(event: object) -> None:
    """Hand `event` to its subscribers, in order, now.

    Refuses to run before the domains are wired: a silently dropped event would be a behaviour
    change (a workspace without its pipeline), so a forgotten `app.domains.load()` fails loudly.
    """
    if not _wired:
        raise RuntimeError("events emitted before app.domains.load() wired the subscribers")
    for handler in _handlers.get(type(event), ()):
        await handler(event)
