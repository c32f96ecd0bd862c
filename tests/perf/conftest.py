"""`make bench`: after the run, one table of every figure (beside its floor, ratio, goal, bound
and the previous run's ratio) and `var/bench/<UTC date-time>.json`. Only loaded when tests/perf
is collected (`make test` ignores the folder)."""

from __future__ import annotations

import resource
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.perf import report as bench

STARTED = datetime.now(UTC)
OUTCOMES: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    # 1,000 sockets plus their servers' ends and the database pools need descriptors
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 16384)), hard))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    name = report.nodeid.split("::")[-1]
    if report.when == "call":
        OUTCOMES[name] = report.outcome
    elif report.outcome == "failed":
        OUTCOMES[name] = f"error in {report.when}"
    elif report.outcome == "skipped":
        OUTCOMES[name] = "skipped"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    path = bench.write_run(STARTED, OUTCOMES)
    if path is None:
        return
    terminalreporter.write_sep("=", "bench figures (ratio = value / floor of the same run)")
    terminalreporter.write_line(bench.table(STARTED))
    terminalreporter.write_line(f"\nwritten to {path.relative_to(bench.ROOT)}")
