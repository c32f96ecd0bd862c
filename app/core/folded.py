"""A page's state read folded into its signed-in check: one statement, one round trip.

A kept page reads its state (one security-invoker function that sets its own RLS scope, run
by `db.self_scoped`) right after the signed-in check (another such function): two round
trips. A route declares its state read in its `opt` (`folds(read)`); the signed-in check
(app/accounts/deps.py) then runs both in one statement, the state computed only when the
signed-in row lets the user see a page of the route's level (app/accounts/queries.py,
`signed_in_with`), and leaves the state's rows in the request's scope for the handler
(`take_folded`). Who may see the page is still decided by the access check on the signed-in
row, before the handler runs; a refused request never reaches a handler to use the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

FOLD_KEY = "odex_fold"  # the handler `opt` entry with the route's StateRead
FOLDED_SCOPE_KEY = "odex.folded"  # the request scope's {StateRead.name: rows} read with it
# the folded statement's own columns beside the state's: the signed-in row's, prefixed, and
# the mark of a state row (app/accounts/queries.py, `signed_in_with_sql`)
SIGNED_IN_PREFIX = "si_"
STATE_ROW = "odex_state_row"


def no_params(path_params: Mapping[str, Any]) -> tuple[object, ...]:
    return ()


@dataclass(frozen=True, slots=True)
class StateRead:
    """A page's state statement: `call`, a self-scoping set-returning function call whose
    `$1` is the tenant and `$2` the user, and `$3`, `$4`, ... the values `params` takes from
    the route's path parameters (None: the page cannot be folded, e.g. a malformed id)."""

    name: str
    call: str
    params: Callable[[Mapping[str, Any]], tuple[object, ...] | None] = no_params


def folds(read: StateRead) -> dict[str, object]:
    """The `opt` of a route whose state read is folded into its signed-in check."""
    return {FOLD_KEY: read}


def fold_of(opt: Mapping[str, Any]) -> StateRead | None:
    read = opt.get(FOLD_KEY)
    return read if isinstance(read, StateRead) else None


def path_uuid(name: str) -> Callable[[Mapping[str, Any]], tuple[object, ...] | None]:
    """`params` of a StateRead taking one UUID path parameter."""

    def params(path_params: Mapping[str, Any]) -> tuple[object, ...] | None:
        value = path_params.get(name)
        if isinstance(value, UUID):
            return (value,)
        try:
            return (UUID(str(value)),) if value is not None else None
        except ValueError:
            return None

    return params


def take_folded(scope: Mapping[str, Any], read: StateRead) -> list[asyncpg.Record] | None:
    """The rows of `read` folded into this request's signed-in check, once (None: not folded;
    the page reads its state itself)."""
    folded = scope.get(FOLDED_SCOPE_KEY)
    if not isinstance(folded, dict):
        return None
    rows = folded.pop(read.name, None)
    return rows if isinstance(rows, list) else None


def state_values(row: asyncpg.Record) -> tuple[object, ...]:
    """A state row's own values in order, whether it was read folded (the signed-in row's
    columns beside it) or alone: what a page keyed by all of its state's values is kept by."""
    return tuple(
        value
        for name, value in row.items()
        if name != STATE_ROW and not name.startswith(SIGNED_IN_PREFIX)
    )
