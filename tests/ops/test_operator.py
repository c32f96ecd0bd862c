"""As an operator: the installed console scripts from any directory, `make serve` / `make
worker`, production refusing to start half-configured, and `odex run` supervising its
processes (a crashed web or worker comes back; only Ctrl-C stops everything)."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.core.embedded import free_port
from tests.helpers import FAST_PASSWORD_HASHING

ROOT = Path(__file__).resolve().parents[2]
ODEX = str(Path(sys.executable).parent / "odex")  # the console script pip installed
SECRETS = {
    "SECRET_KEY": "x" * 48,
    "FIELD_KEYS": "k1:" + "A" * 43 + "=",
    "BLIND_INDEX_KEY": "A" * 43 + "=",
}


def _bare_env(**extra: str) -> dict[str, str]:
    """An environment with nothing of ours in it (no ODEX_ENV: production)."""
    return {"PATH": os.environ["PATH"], "HOME": str(Path.home()), **extra}


def _odex(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ODEX, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_half_configured(tmp_path: Path) -> None:
    bare = _odex("serve", env=_bare_env(), cwd=tmp_path)
    assert bare.returncode != 0
    assert "SECRET_KEY, FIELD_KEYS, BLIND_INDEX_KEY must be set in production" in bare.stderr
    assert "Traceback" not in bare.stderr
    no_services = _odex("worker", env=_bare_env(**SECRETS), cwd=tmp_path)
    assert no_services.returncode != 0
    assert (
        "DATABASE_URL, REDIS_URL, SMTP_URL, BASE_URL must be set in production"
        in no_services.stderr
    )
    typo = _odex("serve", env=_bare_env(ODEX_ENV="prod"), cwd=tmp_path)
    assert typo.returncode != 0 and "ODEX_ENV must be one of dev, test, production" in typo.stderr
    seed = _odex("seed", env=_bare_env(**SECRETS), cwd=tmp_path)
    assert seed.returncode != 0 and "exists only with ODEX_ENV=dev" in seed.stderr
    embedded = _odex("migrate", env=_bare_env(**SECRETS), cwd=tmp_path)
    assert embedded.returncode != 0 and "embedded servers are for local use" in embedded.stderr


def test_console_scripts_work_from_any_directory(services: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, **services}
    assert _odex("migrate", env=env, cwd=tmp_path).returncode == 0  # finds piccolo_conf
    listing = _odex("backup", "--list", env=env, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr[-2000:]
    verify = _odex("audit-verify", env=env, cwd=tmp_path)
    assert verify.returncode == 0, verify.stderr[-2000:]


def _wait_http(url: str, proc: subprocess.Popen[str], within: float = 60) -> httpx.Response:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the process exited"
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_make_serve_and_make_worker_run_the_production_processes(
    services: dict[str, str],
) -> None:
    port = free_port()
    env = {
        **os.environ,
        **services,
        **SECRETS,
        "PORT": str(port),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "REDIS_URL": services["REDIS_URL"].rsplit("/", 1)[0] + "/5",  # its own job queue
    }
    env.pop("ODEX_ENV")  # what make serve gets on a server: production
    for name in FAST_PASSWORD_HASHING:  # (with production's password hashing cost)
        env.pop(name)
    serve = subprocess.Popen(["make", "-s", "serve"], cwd=ROOT, env=env, text=True)
    worker = subprocess.Popen(
        ["make", "-s", "worker"], cwd=ROOT, env=env, text=True, stderr=subprocess.PIPE
    )
    try:
        assert _wait_http(f"http://127.0.0.1:{port}/readyz", serve).json()["status"] == "ready"
        assert httpx.get(f"http://127.0.0.1:{port}/dev/mailbox").status_code == 404
        assert worker.stderr is not None
        deadline = time.monotonic() + 60
        for line in worker.stderr:
            if "Starting worker for" in line or time.monotonic() > deadline:
                break
        assert "Starting worker for" in line
    finally:
        for proc in (serve, worker):  # make passes SIGTERM on to odex
            proc.terminate()
        for proc in (serve, worker):
            proc.wait(40)


class Lines:
    """The output of a process, line by line, read in the background."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        threading.Thread(target=lambda: [self.queue.put(x) for x in stream], daemon=True).start()

    def expect(self, pattern: str, within: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no line like {pattern!r}; saw:\n{''.join(self.seen[-30:])}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


@pytest.mark.timeout(240)
def test_odex_run_restarts_crashed_processes_and_stops_all_only_on_ctrl_c(
    services: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "ODEX_ENV": "test", "ODEX_DATA_DIR": str(tmp_path), "PORT": str(port)}
    env["DATABASE_URL"], env["MIGRATION_DATABASE_URL"] = (
        services["DATABASE_URL"],
        services["MIGRATION_DATABASE_URL"],
    )
    for name in ("REDIS_URL", "SMTP_URL", "MAILBOX_DIR"):  # odex run starts its own
        env.pop(name, None)
    run = subprocess.Popen(  # a process group of its own: nothing it started outlives the test
        [ODEX, "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    out = Lines(run)
    try:
        valkey_port = int(out.expect(r"embedded Valkey on redis://127\.0\.0\.1:(\d+)").group(1))
        web = int(out.expect(r"web started \(pid (\d+)\)").group(1))
        worker = int(out.expect(r"worker started \(pid (\d+)\)").group(1))
        assert _wait_http(f"http://127.0.0.1:{port}/healthz", run).status_code == 200

        os.kill(web, signal.SIGKILL)  # the web process crashes
        out.expect(rf"web \(pid {web}\) exited with status -9; restarting in 1 s")
        new_web = int(out.expect(r"web started \(pid (\d+)\)").group(1))
        assert new_web != web
        assert _wait_http(f"http://127.0.0.1:{port}/healthz", run).status_code == 200

        os.kill(worker, signal.SIGKILL)  # so does the worker
        out.expect(rf"worker \(pid {worker}\) exited with status -9; restarting in 1 s")
        new_worker = int(out.expect(r"worker started \(pid (\d+)\)").group(1))
        with socket.create_connection(("127.0.0.1", valkey_port), timeout=2):
            pass  # the embedded Valkey was left running through both crashes

        run.send_signal(signal.SIGINT)  # Ctrl-C: everything stops, Valkey last
        assert run.wait(60) == 0
        for pid in (new_web, new_worker):
            assert not _alive(pid)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", valkey_port), timeout=2)
    finally:
        if run.poll() is None:  # failed half-way: Ctrl-C stops all it started (Valkey too)…
            run.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.wait(30)
        with contextlib.suppress(ProcessLookupError):  # …else its web and worker are killed
            os.killpg(run.pid, signal.SIGKILL)
        run.wait(10)
