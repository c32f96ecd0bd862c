"""How `make bench` prints a figure: beside its floor measured in the same run, with the ratio."""

from __future__ import annotations

import statistics


def report(name: str, figure: float, floor: float, unit: str, what_floor: str) -> float:
    """Print one line and return figure / floor."""
    ratio = figure / floor if floor else float("inf")
    print(
        f"\n{name}: {figure:,.2f} {unit} | floor ({what_floor}): {floor:,.2f} {unit}"
        f" | ratio {ratio:,.2f}x",
        flush=True,
    )
    return ratio


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples)
