"""The long-running processes: `odex serve` (graceful), `odex worker` (outlives Valkey outages)
and the supervisor of `odex run` (restarts a crashed web or worker with backoff).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TypedDict

from app.core.availability import BACKEND_DOWN, which_service
from app.settings import PRODUCTION_SERVICES, get_settings, missing_for_production

log = logging.getLogger("odex.ops")

GRACEFUL_SECONDS = 20  # in-flight requests may finish this long after SIGTERM
RESTART_BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # a child that ran this long starts its backoff from the beginning again


class SslOptions(TypedDict, total=False):
    """uvicorn's TLS settings `odex serve --certfile --keyfile` passes on."""

    ssl_certfile: str
    ssl_keyfile: str
    ssl_context_factory: Callable[[object, Callable[[], ssl.SSLContext]], ssl.SSLContext]


def require_services(command: str) -> None:
    """Stop `odex serve`/`odex worker` at once, with the reason, when it could not work."""
    settings = get_settings()
    if settings.is_production:
        missing = missing_for_production(dict(os.environ), PRODUCTION_SERVICES)
        if missing:
            sys.exit(
                f"odex {command}: {', '.join(missing)} must be set in production "
                "(see README, Production deployment)"
            )
    elif not (settings.database_url and settings.redis_url):
        sys.exit(
            f"odex {command}: DATABASE_URL and REDIS_URL are not set. `make run` starts "
            "everything locally; to run this process alone, point it at a running PostgreSQL "
            "and Valkey (see README)."
        )


def _cheap_access_log() -> dict[str, object]:
    """uvicorn's logging set-up with a plain access line, in the format of the app's other
    lines (`time INFO uvicorn.access 10.0.0.7:51234 - "GET /app HTTP/1.1" 200`): its own
    access formatter copies every record and colours it (24 µs a line, 11 µs so, with the
    attributes no format here names left unread: logging's documented optimisations)."""
    from uvicorn.config import LOGGING_CONFIG

    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no caller's file and line looked up per record
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["access"] = {"()": AccessFormatter}
    return config


class AccessFormatter(logging.Formatter):
    """`%(asctime)s %(levelname)s %(name)s %(message)s` for the access line, with the time's
    text made once a second (logging formats it with strftime for every record: a fifth of the
    line's cost) and the line put together directly."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._second = -1
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime(self.default_time_format, self.converter(second))
        line = (
            f"{self._stamp},{int(record.msecs):03d} {record.levelname} {record.name} "
            f"{record.getMessage()}"
        )
        if record.exc_info or record.stack_info:  # never for an access line; kept as logging's
            return super().format(record)
        return line


def serve(host: str, port: int, ssl_kwargs: SslOptions) -> None:
    """uvicorn with a graceful stop: on SIGTERM /readyz turns 503 for SHUTDOWN_DRAIN_SECONDS
    (the load balancer stops sending), then no new connections, in-flight requests finish and
    open websockets are closed with 1012 (service restart), which browsers reconnect after."""
    import uvicorn

    from app.core.health import start_draining

    drain = get_settings().shutdown_drain_seconds

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if drain <= 0 or self.should_exit or getattr(self, "_draining", False):
                super().handle_exit(sig, frame)
                return
            self._draining = True
            start_draining()
            log.info("received signal %s: draining for %.1f s", sig, drain)
            threading.Timer(drain, super().handle_exit, (sig, frame)).start()

    config = uvicorn.Config(
        "app.asgi:create_served_app",
        log_config=_cheap_access_log(),
        factory=True,
        host=host,
        port=port,
        # X-Forwarded-For is read by the app itself, from TRUSTED_PROXIES only (app/core/proxy)
        proxy_headers=False,
        log_level="info",
        # uvloop and httptools (uvicorn[standard]): what "auto" picks too, said explicitly so a
        # missing one fails the start instead of quietly serving on the slower pure-Python pair
        loop="uvloop",
        http="httptools",
        # websockets' sans-I/O protocol: a send is framed and written at once (no drain/lock
        # per message as in the legacy "websockets" one), which halves the CPU of a push to
        # 1,000 sockets (P1, tests/perf/test_broadcast.py); wsproto measured slower
        ws="websockets-sansio",
        ws_per_message_deflate=get_settings().live_compression,  # off unless LIVE_COMPRESSION
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        **ssl_kwargs,
    )
    DrainingServer(config).run()


def _run_worker_once() -> None:
    """One arq worker until a signal stops it (returns) or Valkey/PostgreSQL fails (raises)."""
    from arq.worker import create_worker

    from app.core import db
    from app.worker import WorkerSettings

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        worker = create_worker(WorkerSettings)  # type: ignore[arg-type]
        worker.run()
    finally:
        try:
            loop.run_until_complete(db.close_pool())
        except Exception:
            log.debug("no database pool to close")
        loop.close()
        asyncio.set_event_loop(None)


def worker() -> None:
    """The arq worker, restarted in-process when Valkey or PostgreSQL goes away (arq itself
    exits on a lost connection). SIGTERM/SIGINT end it: running jobs get
    WORKER_SHUTDOWN_SECONDS to finish, the rest go back to the queue."""
    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            _run_worker_once()
            return  # stopped by a signal
        except BACKEND_DOWN as exc:
            if time.monotonic() - started > STABLE_AFTER:
                delay = 1.0
            log.warning(
                "worker lost %s (%s): starting again in %.0f s", which_service(exc), exc, delay
            )
        stop = _sleep_unless_signalled(delay)
        if stop:
            return
        delay = min(delay * 2, RESTART_BACKOFF_MAX)


def _sleep_unless_signalled(seconds: float) -> bool:
    """Sleep between worker restarts; True when SIGTERM/SIGINT arrived meanwhile."""
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        return stop.wait(seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class Child:
    """One supervised process of `odex run`."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float = 0.0
    delay: float = 1.0
    restarts: int = field(default=0)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv)  # noqa: S603 - our own interpreter and module
        self.started_at = time.monotonic()
        say(f"{self.name} started (pid {self.proc.pid})")

    def check(self, now: float) -> None:
        """Restart the child if it exited, after a delay that doubles while it keeps failing."""
        if self.proc is not None:
            status = self.proc.poll()
            if status is None:
                return
            if now - self.started_at > STABLE_AFTER:
                self.delay = 1.0
            say(
                f"{self.name} (pid {self.proc.pid}) exited with status {status}; "
                f"restarting in {self.delay:.0f} s"
            )
            self.proc = None
            self.restart_at = now + self.delay
            self.delay = min(self.delay * 2, RESTART_BACKOFF_MAX)
        if now >= self.restart_at:
            self.restarts += 1
            self.start()

    def stop(self, timeout: float) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop within {timeout:.0f} s: killing it")
                self.proc.kill()
                self.proc.wait()


def say(message: str) -> None:
    """A supervisor log line (stdout, so `make run` shows it)."""
    print(f"odex run: {message}", flush=True)


def supervise(children: list[Child], stopped: Callable[[], bool]) -> None:
    """Keep every child running until `stopped()`; then stop them (SIGTERM, then SIGKILL)."""
    try:
        for child in children:
            child.start()
        while not stopped():
            now = time.monotonic()
            for child in children:
                child.check(now)
            time.sleep(0.2)
    finally:
        say("stopping…")
        for child in children:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        for child in children:
            child.stop(GRACEFUL_SECONDS + 5)
