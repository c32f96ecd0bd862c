"""The production topology of README "Production deployment", on this machine, for real:
HAProxy (deploy/haproxy.cfg) → two `odex serve` and two `odex worker` (the installed console
scripts, started from another directory, in production mode) → PgBouncer in transaction mode
(deploy/pgbouncer.ini) → PostgreSQL, plus Valkey and an SMTP sink. PostgreSQL and Valkey are
embedded servers of this test's own (never the machine's, never the suite's), so the outage
tests may stop and kill them.
"""

from __future__ import annotations

import asyncio
import base64
import configparser
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from app.core import embedded
from tests.helpers import BrowserClient, Mailbox

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ODEX = Path(sys.executable).parent / "odex"  # the installed console script
TIMEOUT = httpx.Timeout(10.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes] | None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@dataclass
class Proc:
    """One process of the stack, its log file and (for web nodes) its port."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int = 0
    popen: subprocess.Popen[bytes] | None = None
    cwd: Path | None = None

    def start(self) -> Proc:
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, stdout=handle, stderr=subprocess.STDOUT
        )
        handle.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        assert self.popen is not None
        self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout)

    def stop(self) -> None:
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.wait(15)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.wait(5)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """Everything of the deployment; `url` is HAProxy's."""

    tmp: Path
    pg: embedded.EmbeddedPostgres
    valkey: embedded.EmbeddedValkey
    sink: embedded.MailSink
    bouncer: Proc
    haproxy: Proc | None = None
    webs: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""

    @property
    def mailbox(self) -> Mailbox:
        return Mailbox(self.sink.mailbox_dir)

    def client(self) -> BrowserClient:
        return BrowserClient(base_url=self.url, timeout=TIMEOUT, follow_redirects=False)

    async def superuser(self) -> asyncpg.Connection:
        """A look behind the scenes (job leases, exports) as PostgreSQL's superuser."""
        return await asyncpg.connect(self.pg.url("postgres"))

    def logs(self) -> str:
        procs = [self.haproxy, self.bouncer, *self.webs, *self.workers]
        return "\n".join(p.tail() for p in procs if p is not None)

    # ---- processes ---------------------------------------------------------------------

    def web(self, name: str, port: int) -> Proc:
        argv = [str(ODEX), "serve", "--host", "127.0.0.1", "--port", str(port)]
        return Proc(name, argv, self.env, self.tmp / f"{name}.log", port, cwd=self.tmp / "run")

    def worker(self, name: str) -> Proc:
        argv = [str(ODEX), "worker"]
        return Proc(name, argv, self.env, self.tmp / f"{name}.log", cwd=self.tmp / "run")

    def restart(self, proc: Proc) -> Proc:
        """Start a stopped (or killed) process again, the same way, on the same port."""
        fresh = Proc(proc.name, proc.argv, proc.env, proc.log, proc.port, cwd=proc.cwd).start()
        group = self.webs if proc in self.webs else self.workers
        group[group.index(proc)] = fresh
        if fresh.port:
            wait_port(fresh.port, fresh.popen)
        return fresh

    async def served_by(self, name: str, within: float = 20) -> None:
        """Wait until HAProxy sends requests to node `name` again (its checks say it is up)."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.url, timeout=TIMEOUT) as c:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    r = await c.get("/healthz")
                    if r.headers.get("x-served-by") == name:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"HAProxy never sent a request to {name}\n{self.logs()}")

    def restart_postgres(self) -> None:
        self.pg = start_postgres(self.pg.data_dir)

    def restart_valkey(self) -> None:
        self.valkey = embedded.EmbeddedValkey(
            self.valkey.data_dir, port=self.valkey.port, persist=True
        ).start()

    def kill_valkey(self) -> None:
        assert self.valkey._proc is not None
        self.valkey._proc.kill()
        self.valkey._proc.wait(5)

    def stop(self) -> None:
        """Tear down fast: the graceful paths were tested already."""
        procs = [p for p in (self.haproxy, *self.webs, *self.workers, self.bouncer) if p]
        for proc in procs:
            if proc.alive():
                proc.signal(signal.SIGKILL)
        for proc in procs:
            if proc.popen is not None:
                proc.popen.wait(10)
        self.sink.stop()
        self.valkey.stop()
        self.pg.stop()


def start_postgres(data_dir: Path) -> embedded.EmbeddedPostgres:
    """Our own PostgreSQL; the test process keeps its XDG_RUNTIME_DIR (the embedded server sets
    it to a folder of ours, which is wiped at the end while later browser tests still run)."""
    before = os.environ.get("XDG_RUNTIME_DIR")
    try:
        return embedded.EmbeddedPostgres(data_dir).start()
    finally:
        if before is None:
            os.environ.pop("XDG_RUNTIME_DIR", None)
        else:
            os.environ["XDG_RUNTIME_DIR"] = before


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _pgbouncer_ini(stack_tmp: Path, pg: embedded.EmbeddedPostgres, port: int) -> Path:
    """deploy/pgbouncer.ini with this machine's addresses, users and paths."""
    ini = configparser.ConfigParser(delimiters=("=",), comment_prefixes=(";",))
    ini.optionxform = str  # type: ignore[assignment,method-assign]
    ini.read(DEPLOY / "pgbouncer.ini")
    ini["databases"]["odex"] = f"host={pg.socket_dir} port={pg.port} dbname=odex"
    folder = stack_tmp / "pgbouncer"
    folder.mkdir()
    (folder / "userlist.txt").write_text(f'"{embedded.APP_ROLE}" ""\n')
    ini["pgbouncer"].update(
        {
            "listen_port": str(port),
            "auth_type": "trust",  # the embedded server trusts local users; production: scram
            "auth_file": str(folder / "userlist.txt"),
            "logfile": str(folder / "pgbouncer.log"),
            "pidfile": str(folder / "pgbouncer.pid"),
        }
    )
    path = folder / "pgbouncer.ini"
    with path.open("w") as handle:
        ini.write(handle)
    os.chmod(folder, 0o777)  # noqa: S103 - PgBouncer refuses root and runs as another user
    for item in folder.iterdir():
        item.chmod(0o666)
    return path


def _pgbouncer_argv(ini: Path) -> list[str]:
    argv = [shutil.which("pgbouncer") or "pgbouncer", str(ini)]
    if os.geteuid() == 0:  # PgBouncer will not run as root: the embedded server's own user
        user = "embedded_postgres"
        pwd.getpwnam(user)
        argv[1:1] = ["-u", user]
    return argv


def start_stack(tmp: Path) -> Stack:
    """Start the whole topology (about 10 s); on failure, print every log and stop it all."""
    tmp.chmod(0o755)
    (tmp / "run").mkdir()  # the console scripts run from here, not from the repository
    pg = start_postgres(tmp / "pg")
    valkey = embedded.EmbeddedValkey(tmp / "valkey", persist=True).start()
    sink = embedded.MailSink(tmp / "mailbox").start()
    bouncer_port, proxy_port = free_port(), free_port()
    env = {
        # production: no ODEX_ENV at all (the default), every secret given
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"postgresql://{embedded.APP_ROLE}@127.0.0.1:{bouncer_port}/odex",
        "DATABASE_STATEMENT_CACHE_SIZE": "0",
        "DATABASE_POOL_SIZE": "6",
        "MIGRATION_DATABASE_URL": pg.url(embedded.OWNER_ROLE),
        "BACKUP_DATABASE_URL": pg.url(embedded.BACKUP_ROLE),
        "REDIS_URL": valkey.url,
        "SMTP_URL": sink.url,
        "BASE_URL": f"http://127.0.0.1:{proxy_port}",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FIELD_KEYS": f"k1:{_key()}",
        "BLIND_INDEX_KEY": _key(),
        "BACKUP_KEY": _key(),
        "BACKUP_DIRS": f"{tmp / 'backup-a'},{tmp / 'backup-b'}",
        "BACKUP_HOUR": "24",  # the daily backup is tested in tests/ops
        "ODEX_DATA_DIR": str(tmp / "data"),
        "TRUSTED_PROXIES": "127.0.0.1",
        "JOB_LEASE_SECONDS": "3",
        # HAProxy marks a node down after two failed checks 1 s apart (deploy/haproxy.cfg),
        # so up to 2 s after the drain begins plus the checks' own latency under load.
        # At 2.5 s that left 0.5 s, less than check latency on a loaded machine: the node could
        # stop listening while HAProxy still sent it connections (a failed request in the
        # rolling restart)
        "SHUTDOWN_DRAIN_SECONDS": "4",
        "WORKER_SHUTDOWN_SECONDS": "2",
    }
    stack = Stack(tmp, pg, valkey, sink, Proc("pgbouncer", [], {}, tmp / "pgbouncer.out"), env=env)
    stack.url = env["BASE_URL"]
    try:
        asyncio.run(pg.bootstrap())
        # migrate while the other processes start: until it is done their /readyz says
        # "migrations pending" and HAProxy sends them nothing (as during a release)
        migrate = subprocess.Popen(
            [str(ODEX), "migrate"], env=env, cwd=tmp / "run", stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        bouncer_ini = _pgbouncer_ini(tmp, pg, bouncer_port)
        stack.bouncer.argv, stack.bouncer.env = _pgbouncer_argv(bouncer_ini), {"PATH": env["PATH"]}
        stack.bouncer.start()
        wait_port(bouncer_port, stack.bouncer.popen)
        stack.webs = [stack.web(f"web{i}", free_port()).start() for i in (1, 2)]
        stack.workers = [stack.worker(f"worker{i}").start() for i in (1, 2)]
        haproxy_env = {
            "PATH": env["PATH"],
            "ODEX_BIND": f"127.0.0.1:{proxy_port}",
            "ODEX_WEB1": f"127.0.0.1:{stack.webs[0].port}",
            "ODEX_WEB2": f"127.0.0.1:{stack.webs[1].port}",
            "ODEX_ERRORS": str(DEPLOY),
        }
        argv = [shutil.which("haproxy") or "haproxy", "-db", "-f", str(DEPLOY / "haproxy.cfg")]
        stack.haproxy = Proc("haproxy", argv, haproxy_env, tmp / "haproxy.log").start()
        output = migrate.communicate(timeout=120)[0]
        assert migrate.returncode == 0, output.decode(errors="replace")[-3000:]
        for web in stack.webs:
            wait_port(web.port, web.popen)
        wait_port(proxy_port, stack.haproxy.popen)
        for web in stack.webs:
            asyncio.run(stack.served_by(web.name))
    except BaseException:
        print(stack.logs())
        stack.stop()
        raise
    return stack
