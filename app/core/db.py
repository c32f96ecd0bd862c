"""Database access: the Piccolo engine and `tenant_transaction`, the only door to tenant data."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

import asyncpg
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

from app.core import queries
from app.core.availability import DATABASE_CONNECT_FAILED, DATABASE_DOWN, ServiceUnavailable

log = logging.getLogger("odex.db")

Scope = tuple[UUID | None, UUID | None]  # (tenant_id, user_id) set for RLS in a transaction
AfterCommit = Callable[[], Awaitable[object]]
R = TypeVar("R")


@dataclass
class _Open:
    """The transaction open in this context: its scope, connection and after-commit hooks."""

    scope: Scope
    connection: asyncpg.Connection
    after_commit: list[AfterCommit] = field(default_factory=list)


_open: contextvars.ContextVar[_Open | None] = contextvars.ContextVar("odex_db_open", default=None)


@dataclass(slots=True)
class _Held:
    """A request's pooled connection between its first two self-scoped statements
    (`request_connection`): taken from the pool at the first one, used by the request's own
    task only and one statement at a time, given back after the second, at the end of the
    request or handed over to the request's next transaction (a request never holds two
    connections)."""

    owner: asyncio.Task[object] | None
    conn: asyncpg.Connection | None = None
    busy: bool = False


_held: contextvars.ContextVar[_Held | None] = contextvars.ContextVar("odex_db_held", default=None)
_begun = 0  # real BEGINs opened by this process (joined transactions are not counted)
# the tally of the work under way in this context and the tasks it starts (see `tally()`)
_tally: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "odex_db_tally", default=None
)


def transactions_begun() -> int:
    """How many transactions this process has opened (a cheap counter for stats)."""
    return _begun


@contextmanager
def tally() -> Iterator[list[int]]:
    """Count the transactions opened by the work done inside (and by the tasks it starts:
    they inherit the context), not by other work of the process running meanwhile (a request's
    units of work; `[0]` holds the count)."""
    counter = [0]
    token = _tally.set(counter)
    try:
        yield counter
    finally:
        _tally.reset(token)


_engine: PostgresEngine | None = None


def engine() -> PostgresEngine:
    """The Piccolo engine from piccolo_conf (built lazily: it connects when constructed), found
    once: piccolo_conf's DB is made when the module is imported and never replaced, and
    Piccolo's finder imports the module again on each call (2.5 % of a light page's CPU)."""
    global _engine
    if _engine is None:
        db = engine_finder()
        if not isinstance(db, PostgresEngine):
            raise RuntimeError("piccolo_conf.DB must be a PostgresEngine")
        _engine = db
    return _engine


class CrossTenantNesting(RuntimeError):
    """A transaction for one tenant was opened inside a transaction for another."""


def joins(open_scope: Scope, wanted: Scope) -> bool:
    """The one rule for nesting: the open transaction serves a request for `wanted` when it
    already has everything asked for. A part left None is not asked for, except that a user
    without a tenant (`user_transaction`) asks for "no workspace" too (RLS shows a user's own
    memberships only outside a workspace), so:

    - same tenant and user: join;
    - a tenant without a user: join that tenant's transaction, whoever its user;
    - nothing at all (`global_transaction`, global tables only): join any open transaction,
      so a job row or an outbox mail commits with the change that asked for it;
    - anything else (another tenant, another user, a tenant inside a global one): refused.
    """
    tenant, user = wanted
    if user is not None:
        return open_scope == wanted
    return tenant is None or open_scope[0] == tenant


@asynccontextmanager
async def scoped_transaction(
    tenant_id: UUID | None = None, user_id: UUID | None = None
) -> AsyncIterator[asyncpg.Connection]:
    """Use the open transaction or open one, with `app.tenant_id` / `app.user_id` set locally
    (gone at commit). A nested call joins the outer transaction when `joins()` says so and
    raises CrossTenantNesting otherwise: one unit of work never mixes two tenants."""
    wanted: Scope = (tenant_id, user_id)
    current = _open.get()
    if current is not None:
        if not joins(current.scope, wanted):
            raise CrossTenantNesting("a transaction for another tenant or user is already open")
        yield current.connection
        return
    global _begun
    async with _transaction(wanted, _take_held()) as txn:
        _begun += 1
        counter = _tally.get()
        if counter is not None:
            counter[0] += 1
        conn: asyncpg.Connection = txn.connection
        opened = _Open(wanted, conn)
        token = _open.set(opened)
        try:
            yield conn
        finally:
            _open.reset(token)
    for callback in opened.after_commit:  # reached only when the transaction committed
        await callback()


def connection() -> asyncpg.Connection:
    """The open transaction's connection (for services that run inside the caller's
    transaction); a programming error outside one."""
    current = _open.get()
    if current is None:
        raise RuntimeError("needs an open transaction (tenant_transaction or global_transaction)")
    return current.connection


def in_transaction() -> bool:
    return _open.get() is not None


async def _discard(db: PostgresEngine, txn: PostgresTransaction) -> None:
    """Give back a transaction's connection whatever state it is in (it may be dead)."""
    conn = getattr(txn, "connection", None)
    if conn is None:
        return
    try:
        if db.pool is not None:
            await db.pool.release(conn, timeout=5)
        else:
            await conn.close(timeout=5)
    except Exception:
        conn.terminate()


class _ScopedTransaction(PostgresTransaction):
    """Piccolo's transaction whose BEGIN sets the RLS scope (`app.tenant_id`, `app.user_id`,
    transaction-local) in the same round trip; COMMIT and ROLLBACK sent as such. Piccolo's
    queries find its connection as they find any Piccolo transaction's."""

    def __init__(
        self, db: PostgresEngine, scope: Scope, conn: asyncpg.Connection | None = None
    ) -> None:
        super().__init__(engine=db)
        self._begin = queries.begin_scoped(*scope)
        self._given = conn  # a pooled connection handed over (released at the end, as any)

    async def get_connection(self) -> asyncpg.Connection:
        given, self._given = self._given, None
        if given is not None:
            return given
        conn: asyncpg.Connection = await super().get_connection()  # type: ignore[no-untyped-call]
        return conn

    async def begin(self) -> None:
        await self.connection.execute(self._begin)

    async def commit(self) -> None:
        await self.connection.execute("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        await self.connection.execute("ROLLBACK")
        self._rolled_back = True


@asynccontextmanager
async def _transaction(
    scope: Scope, given: asyncpg.Connection | None = None
) -> AsyncIterator[PostgresTransaction]:
    """Piccolo's transaction with `scope` set for RLS, made safe for outages.

    Piccolo leaks the pooled connection when BEGIN or ROLLBACK fails on a dead connection (and
    leaves its context variable set); after a PostgreSQL restart that would exhaust the pool.
    A connection that fails at BEGIN is dropped and the start retried once (nothing ran yet);
    a server that cannot be reached becomes ServiceUnavailable (503, or a re-queued job).
    """
    db = engine()
    for attempt in range(2):
        txn = _ScopedTransaction(db, scope, given)
        given = None  # a retry takes a fresh one
        try:
            await txn.__aenter__()
            break
        except DATABASE_CONNECT_FAILED as exc:
            await _discard(db, txn)
            if attempt:
                raise ServiceUnavailable("PostgreSQL") from exc
        except BaseException:  # BEGIN refused: the connection goes back (rolled back if open)
            await _discard(db, txn)
            raise
    try:
        yield txn
    except BaseException as exc:
        try:
            await txn.__aexit__(type(exc), exc, exc.__traceback__)
        except DATABASE_DOWN:
            await _discard(db, txn)
            db.current_transaction.reset(txn.context)
        raise
    else:
        try:
            await txn.__aexit__(None, None, None)
        except DATABASE_DOWN:  # the commit's outcome is unknown: say so, never "saved"
            await _discard(db, txn)
            db.current_transaction.reset(txn.context)
            raise


async def self_scoped(
    tenant_id: UUID,
    user_id: UUID,
    statement: Callable[[asyncpg.Connection], Awaitable[R]],
    *,
    last: bool = False,
) -> R:
    """Run ONE statement that sets its own RLS scope before it reads (a function such as
    `odex_signed_in(tenant, user)`, whose `set_config(..., true)` lasts as long as the
    statement's own transaction) on a pooled connection in autocommit: one round trip, where
    `tenant_transaction` takes three (BEGIN with the scope, the statement, COMMIT).

    Inside an open transaction it runs there, and only for the same tenant and user (the
    function then sets the scope already set; any other would change the open one's scope).
    A connection that turns out dead (a restart) is dropped and the read tried once more.
    `last`: the request's last self-scoped statement before its page's own work (a page's
    state read with the signed-in check, app/core/folded.py): the request's held connection
    goes back after it, as after a second one."""
    current = _open.get()
    if current is not None:
        if current.scope != (tenant_id, user_id):
            raise CrossTenantNesting("a transaction for another tenant or user is already open")
        return await statement(current.connection)
    db = engine()
    if db.pool is None:  # a script without the pool: an ordinary transaction
        async with tenant_transaction(tenant_id, user_id) as conn:
            return await statement(conn)
    held = _held.get()
    if held is not None and held.owner is asyncio.current_task() and not held.busy:
        return await _on_held(db, held, statement, last=last)
    for attempt in range(2):
        try:
            conn = await db.pool.acquire()
        except DATABASE_CONNECT_FAILED as exc:
            if attempt:
                raise ServiceUnavailable("PostgreSQL") from exc
            continue
        try:
            return await statement(conn)
        except DATABASE_DOWN:
            conn.terminate()
            if attempt:
                raise
        finally:
            await db.pool.release(conn)
    raise AssertionError("unreachable")


async def _on_held(
    db: PostgresEngine,
    held: _Held,
    statement: Callable[[asyncpg.Connection], Awaitable[R]],
    *,
    last: bool = False,
) -> R:
    """`self_scoped`'s statement on the request's held connection: the first statement takes
    it from the pool and keeps it, the second runs on it and gives it back (the signed-in
    check and the page's first read: nothing else happens between them, while a page's later
    work, its other reads from Valkey and rendering, would keep the connection from the rest
    of the pool). In autocommit the statement's scope ends with it, so the connection carries
    nothing from one statement to the next. A dead one is dropped and the read tried once
    more; one interrupted mid-statement (a cancelled request) goes back to the pool, which
    cleans it up, rather than serving the request's next statement."""
    assert db.pool is not None
    for attempt in range(2):
        reused = held.conn is not None
        if held.conn is None:
            try:
                held.conn = await db.pool.acquire()
            except DATABASE_CONNECT_FAILED as exc:
                if attempt:
                    raise ServiceUnavailable("PostgreSQL") from exc
                continue
        conn = held.conn
        held.busy = True
        try:
            result = await statement(conn)
        except DATABASE_DOWN:
            held.conn = None
            conn.terminate()
            await _release(db, conn)
            if attempt:
                raise
        except BaseException as exc:
            # a failed statement leaves the connection idle (autocommit); one cancelled
            # mid-statement is not for the next one
            if not isinstance(exc, Exception):
                held.conn = None
                await _release(db, conn)
            raise
        finally:
            held.busy = False
        if reused or last:  # its second (or last) statement: it goes back, the request holds none
            held.conn, held.owner = None, None
            await _release(db, conn)
        return result
    raise AssertionError("unreachable")


async def _release(db: PostgresEngine, conn: asyncpg.Connection) -> None:
    try:
        if db.pool is not None:
            await db.pool.release(conn)
        else:
            conn.terminate()
    except Exception:  # another pool's, or broken: never to be used again
        conn.terminate()


def _take_held() -> asyncpg.Connection | None:
    """The request's held connection, handed over to the transaction opening now in its task
    (which releases it at its end, as any): a request never waits for a second connection
    while holding one (a full pool would wait for ever)."""
    held = _held.get()
    if held is None or held.owner is not asyncio.current_task() or held.busy:
        return None
    conn, held.conn = held.conn, None
    return conn


@asynccontextmanager
async def request_connection() -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """One pooled connection for a web request's first two self-scoped statements
    (`self_scoped`: the signed-in check and the page's first read; each pool acquire and
    release costs as much as a small statement): taken at the first, given back after the
    second, or handed over to a transaction the request opens, or given back when the block
    ends or the returned `give_back()` is awaited (before the response is sent).

    Only the request's own task uses it, one statement at a time: a task it starts takes its
    own from the pool. Only autocommit statements run on it, each setting its RLS scope with
    `set_config(..., true)` for its own implicit transaction, so no scope outlives a statement
    (tests/core/test_request_connection.py)."""
    held = _Held(asyncio.current_task())
    token = _held.set(held)

    async def give_back() -> None:
        conn, held.conn, held.owner = held.conn, None, None
        if conn is not None:
            await _release(engine(), conn)

    try:
        yield give_back
    finally:
        _held.reset(token)
        await give_back()


def after_commit(callback: AfterCommit) -> None:
    """Run `callback` once the current transaction commits (enqueue jobs, publish events).

    Outside a transaction it is a programming error: events must never announce rolled-back
    writes, so there is no "run now" fallback.
    """
    current = _open.get()
    if current is None:
        raise RuntimeError("after_commit() needs an open transaction")
    current.after_commit.append(callback)


def current_scope() -> Scope | None:
    """(tenant_id, user_id) of the open transaction, or None outside one."""
    current = _open.get()
    return current.scope if current is not None else None


def tenant_transaction(
    tenant_id: UUID, user_id: UUID | None = None
) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """The one way tenant data is touched: RLS sees only `tenant_id`'s rows inside it."""
    return scoped_transaction(tenant_id=tenant_id, user_id=user_id)


def user_transaction(user_id: UUID) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """A transaction that sees a user's own memberships across tenants (and nothing else)."""
    return scoped_transaction(user_id=user_id)


def global_transaction() -> AbstractAsyncContextManager[asyncpg.Connection]:
    """A transaction for global tables only (users, tokens, outbox): no tenant is visible.
    Inside any open transaction it joins it (see `joins`)."""
    return scoped_transaction()


async def start_pool(max_size: int | None = None) -> None:
    """Open the connection pool without connecting yet (min_size=0), so a process starts, and
    answers 503, while PostgreSQL is down, and connects once it is back."""
    from app.settings import get_settings

    size = max_size or get_settings().database_pool_size
    await engine().start_connection_pool(min_size=0, max_size=size, reset=keep_session)


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset of a released connection: nothing to undo, so no round trip.

    asyncpg's default reset sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    after every transaction (a round trip, and work for the server, per unit of work). This
    app leaves no session state: the RLS scope is `set_config(..., true)` (transaction-local,
    gone at COMMIT or ROLLBACK), locks are transaction locks, cursors close with their
    transaction, nothing LISTENs or SETs. An open transaction is rolled back by asyncpg before
    this runs (`Connection._reset`), so the next user never inherits one. tests/core/test_db.py
    checks that no scope survives a release."""
    del conn


POOL_CLOSE_SECONDS = 5.0


async def close_pool() -> None:
    """Close the pool at shutdown: gracefully while connections come back, then by force.

    A connection still held when the process stops (a socket's check cut short by the
    shutdown, a query waiting on an unreachable server) would keep asyncpg's graceful close
    waiting for ever, and the process from exiting."""
    db = engine()
    pool = db.pool
    if pool is None:
        return
    try:
        await asyncio.wait_for(pool.close(), POOL_CLOSE_SECONDS)
    except TimeoutError:
        log.warning("database connections still in use after %.0f s: closed", POOL_CLOSE_SECONDS)
        pool.terminate()
    db.pool = None
