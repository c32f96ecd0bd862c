"""Load from non-Python generators (Debian's `wrk` and `hey`, installed by `make bench-tools`):
wrk with tests/perf/pages.lua for signed-in sessions and path mixes, hey where every request's
latency is wanted; and the hello-world floor served by the real `odex serve`. A wrk run also
measures the CPU time of wrk and of the server processes, so a bench can show that the
generator was not the bottleneck."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tests.realtime.servers import WebProcess

LUA = Path(__file__).with_name("pages.lua")
PROFILES = Path(__file__).resolve().parents[2] / "var" / "bench" / "profiles"
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WARMUP = float(os.environ.get("BENCH_WARMUP_SECONDS", "1"))
HELLO_TEXT = "Hello, world"


@dataclass
class Load:
    """What one wrk run saw: throughput, latency percentiles, errors and CPU split."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    bad: int
    sample: str
    wrk_cpu: float
    server_cpu: float

    @property
    def server_busy(self) -> float:
        """Server CPU seconds per wall second (1.0 = one core fully used)."""
        return self.server_cpu / self.seconds if self.seconds else 0.0

    @property
    def generator_share(self) -> float:
        """wrk's CPU time as a share of the servers' (small = the servers are the limit)."""
        return self.wrk_cpu / self.server_cpu if self.server_cpu else float("inf")

    def summary(self) -> dict[str, float]:
        return {
            "rps": self.rps,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "requests": self.requests,
            "wrk_cpu_s": self.wrk_cpu,
            "server_cpu_s": self.server_cpu,
            "server_busy": self.server_busy,
            "server_cpu_ms_per_request": self.server_cpu_ms,
        }

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU milliseconds per request (robust to a neighbour's load, unlike req/s)."""
        return self.server_cpu * 1000 / self.requests if self.requests else 0.0


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: `make bench-tools` installs it (Debian package {name})"
    return found


def run_hey(url: str, *, cookie: str, connections: int, seconds: float) -> list[float]:
    """Every request's latency (ms) of a hey run of `seconds`; all must answer 200 (redirects
    are not followed, so a lost session shows as a 303, not as the login page)."""
    out = subprocess.run(
        [
            tool("hey"), "-z", f"{seconds}s", "-c", str(connections), "-disable-redirects",
            "-H", f"Cookie: {cookie}", "-o", "csv", url,
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    statuses = Counter(row["status-code"] for row in rows)
    assert rows and set(statuses) == {"200"}, f"hey {url}: answers {dict(statuses)} {out.stderr}"
    return [float(row["response-time"]) * 1000 for row in rows]


def _cpu(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def run_wrk(
    base_url: str,
    paths: Sequence[str],
    *,
    server_pids: Sequence[int],
    cookies: Sequence[str] = (),
    connections: int = 20,
    seconds: float = SECONDS,
    expect: str = "",
    warmup: float = WARMUP,
    profile: str = "",
) -> Load:
    """Run wrk (one thread) against `base_url` over `paths` with `connections` connections;
    every answer must be a 200 containing `expect`. A short unrecorded warm-up goes first.
    With BENCH_PROFILE=1 (and py-spy installed) the first server is sampled during the run
    into var/bench/profiles/<profile>.txt (collapsed stacks: tests/perf/profile_summary.py)."""
    with tempfile.TemporaryDirectory(prefix="odex-wrk-") as tmp:
        cookie_file, path_file = Path(tmp, "cookies"), Path(tmp, "paths")
        cookie_file.write_text("".join(f"{c}\n" for c in cookies))
        path_file.write_text("".join(f"{p}\n" for p in paths))
        args = [str(cookie_file), str(path_file), expect]
        if warmup > 0:
            _wrk_once(base_url, args, connections, warmup, server_pids)
        spy = _profiler(profile, server_pids[0], seconds) if profile else None
        try:
            return _wrk_once(base_url, args, connections, seconds, server_pids)
        finally:
            if spy is not None:
                spy.wait(60)


def _profiler(label: str, pid: int, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy sampling `pid` for `seconds` (only with BENCH_PROFILE=1; the figures of a
    profiled run are not comparable: the sampler takes CPU from a small machine)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if os.environ.get("BENCH_PROFILE") != "1" or not Path(spy).exists():
        return None
    PROFILES.mkdir(parents=True, exist_ok=True)
    out = PROFILES / f"{label.replace(' ', '-')}.txt"
    return subprocess.Popen(
        [spy, "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", "100",
         "--format", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@dataclass
class WrkOutput:
    """A wrk script's JSON line (WRK_JSON …), its sample line and wrk's own CPU seconds."""

    data: dict[str, Any]
    sample: str
    cpu: float


def run_wrk_script(
    base_url: str, script: Path, args: Sequence[str], *, threads: int, connections: int,
    seconds: float,
) -> WrkOutput:  # fmt: skip
    """Run wrk with one of our Lua scripts, whose done() prints `WRK_JSON {…}`."""
    command = [
        tool("wrk"), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "30s", "-s", str(script), base_url, "--", *args,
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # wrk's own CPU time, not other children's
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, output
    line = next((x for x in output.splitlines() if x.startswith("WRK_JSON ")), None)
    assert line, f"wrk printed no result:\n{output}"
    sample = next((x for x in output.splitlines() if x.startswith("WRK_SAMPLE ")), "")
    return WrkOutput(
        json.loads(line.removeprefix("WRK_JSON ")),
        sample.removeprefix("WRK_SAMPLE ").strip(),
        usage.ru_utime + usage.ru_stime,
    )


def _wrk_once(
    base_url: str, args: list[str], connections: int, seconds: float, server_pids: Sequence[int]
) -> Load:
    server_before = _cpu(server_pids)
    out = run_wrk_script(base_url, LUA, args, threads=1, connections=connections, seconds=seconds)
    server_cpu = _cpu(server_pids) - server_before
    data = out.data
    wall = data["duration_us"] / 1e6
    return Load(
        requests=data["requests"],
        seconds=wall,
        rps=data["requests"] / wall,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=sum(data[k] for k in ("connect", "read", "write", "status", "timeout")),
        bad=data["bad"],
        sample=out.sample,
        wrk_cpu=out.cpu,
        server_cpu=server_cpu,
    )


def assert_clean(load: Load, what: str) -> None:
    """Every request answered, every answer the right page."""
    assert load.requests > 0, f"{what}: no requests completed"
    assert load.errors == 0 and load.bad == 0, (
        f"{what}: {load.errors} socket/HTTP errors and {load.bad} wrong answers of "
        f"{load.requests}; first: {load.sample}"
    )


class HelloProcess(WebProcess):
    """The floor: tests/perf/hello_app through the real `odex serve` (same server, worker
    count and flags as the app under test)."""

    def start(self) -> HelloProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.perf.hello_app", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self


def wait_http(url: str, timeout: float = 30) -> None:
    """Until `url` answers at all (the app's startup opens its pool and Redis first)."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
