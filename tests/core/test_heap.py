"""The served app settles the garbage collector (app/core/heap.py): what start-up built is
frozen out of the collector's walks and the young generation is collected less often. Checked in
a fresh interpreter, the way `odex serve` builds it (freezing is per process, for good)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from app.core import heap

PROBE = """
import gc, json
from app.asgi import create_served_app
before = gc.get_freeze_count()
create_served_app()
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(),
                  "threshold": gc.get_threshold()}))
"""


def test_served_app_freezes_its_heap_and_raises_the_young_threshold(
    services: dict[str, str],
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, **services},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"] == 0
    assert seen["frozen"] > 50_000  # modules, the app and its routes: tens of thousands
    assert seen["threshold"] == [heap.GEN0, heap.GEN1, heap.GEN2]
