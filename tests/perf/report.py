"""How `make bench` keeps its figures: each beside its floor of the same run, the ratio, the
issue's goal and the bound the bench asserts (the goal with 2x slack), written to
`var/bench/<UTC date-time>.json` and printed as one table beside the previous run's ratios."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "var" / "bench"


@dataclass
class Figure:
    """One measured figure. `ratio` is value / floor (None without a floor); `goal` and
    `bound` apply to the ratio (or to the value without a floor), as a ceiling
    (`lower_is_better`) or a minimum."""

    name: str
    value: float
    unit: str
    floor: float | None = None
    floor_what: str = ""
    goal: float | None = None
    bound: float | None = None
    lower_is_better: bool = True
    detail: dict[str, Any] = field(default_factory=dict)
    ratio: float | None = None
    passed: bool | None = None

    def __post_init__(self) -> None:
        if self.floor is not None:
            self.ratio = self.value / self.floor if self.floor else math.inf
        if self.bound is not None:
            seen = self.compared
            self.passed = seen <= self.bound if self.lower_is_better else seen >= self.bound

    @property
    def compared(self) -> float:
        """What the goal and bound apply to: the ratio, or the value when there is no floor."""
        return self.ratio if self.ratio is not None else self.value

    @property
    def checked(self) -> str:
        """What the goal and bound are compared with, in words."""
        return "ratio" if self.floor is not None else self.unit


FIGURES: list[Figure] = []


def record(name: str, value: float, unit: str, **kw: Any) -> Figure:
    """Keep a figure for the table and the JSON file, print it, and return it."""
    fig = Figure(name, float(value), unit, **kw)
    FIGURES.append(fig)
    floor = f" | floor {_num(fig.floor)} {unit} ({fig.floor_what})" if fig.floor is not None else ""
    goal = f" | goal {_limit(fig, fig.goal)} bound {_limit(fig, fig.bound)}" if fig.bound else ""
    verdict = "" if fig.passed is None else (" PASS" if fig.passed else " FAIL")
    ratio = f" | ratio {_num(fig.ratio)}" if fig.ratio is not None else ""
    print(f"\n  {name}: {_num(fig.value)} {unit}{floor}{ratio}{goal}{verdict}")
    return fig


def check(*figures: Figure) -> None:
    """Fail the bench when a figure is outside its bound (all figures named in the message)."""
    failed = [f for f in figures if f.passed is False]
    assert not failed, "outside the 2x-of-goal bound: " + "; ".join(
        f"{f.name} = {_num(f.compared)} ({f.checked}), bound {_limit(f, f.bound)}" for f in failed
    )


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isinf(value) or math.isnan(value):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def _limit(fig: Figure, value: float | None) -> str:
    if value is None:
        return "-"
    sign = "≤" if fig.lower_is_better else "≥"
    suffix = "x" if fig.floor is not None else f" {fig.unit}"
    return f"{sign} {_num(value)}{suffix}"


def _previous(before: str) -> dict[str, float | None]:
    """Each figure's ratio (its value when it has no floor) in the newest earlier run that
    measured it."""
    found: dict[str, float | None] = {}
    if not BENCH_DIR.is_dir():
        return found
    for path in sorted(BENCH_DIR.glob("*.json"), reverse=True):
        if path.stem >= before:
            continue
        try:
            figures = json.loads(path.read_text())["figures"]
        except (OSError, ValueError, KeyError):
            continue
        for fig in figures:
            seen = fig.get("ratio")
            found.setdefault(fig["name"], fig.get("value") if seen is None else seen)
    return found


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip()
    except OSError:
        return ""


def write_run(started: datetime, outcomes: dict[str, str]) -> Path | None:
    """Write this run's figures to var/bench/<UTC date-time>.json (None when nothing ran)."""
    if not FIGURES:
        return None
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    path = BENCH_DIR / f"{stamp}.json"
    data = {
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "commit": _git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
        },
        "tests": outcomes,
        "figures": [asdict(f) for f in FIGURES],
    }
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def table(started: datetime) -> str:
    """Every figure of this run beside its floor, ratio, goal, bound and the previous ratio."""
    previous = _previous(started.strftime("%Y%m%dT%H%M%SZ"))
    head = ("figure", "value", "floor", "ratio", "goal", "bound", "prev", "")
    rows = [head]
    for f in FIGURES:
        floor = f"{_num(f.floor)} ({f.floor_what})" if f.floor is not None else "-"
        rows.append(
            (
                f.name,
                f"{_num(f.value)} {f.unit}",
                floor,
                _num(f.ratio) + "x" if f.ratio is not None else "-",
                _limit(f, f.goal),
                _limit(f, f.bound),
                _num(previous.get(f.name)),
                "" if f.passed is None else ("ok" if f.passed else "FAIL"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)
