"""A one-job worker process for the privacy benchmarks (and the purge kill test): runs an
export or a purge and prints, as JSON, its wall time and the memory of the job itself: resident
memory (its child processes' too) sampled every 10 ms while the job runs, minus the resident
memory just before it.

Usage: python -m tests.perf.privacy_worker export TENANT EXPORT_ID | purge REQUEST_ID
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time

import psutil

SAMPLE_SECONDS = 0.01


class RssSampler:
    """This process's resident memory, sampled on a thread (the job holds the event loop)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.samples: list[int] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        """This process's resident memory and its children's (a pool the job would start)."""
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return int(total)

    def _run(self) -> None:
        while not self.stopped.wait(SAMPLE_SECONDS):
            self.samples.append(self.rss())

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.samples.append(self.rss())
        self.stopped.set()
        self.thread.join()


async def main(kind: str, *args: str) -> None:
    from app.core import db, redis
    from app.privacy.export import run_export
    from app.privacy.purge import purge_deletion
    from app.settings import get_settings

    await db.start_pool(max_size=2)
    await redis.connect(get_settings().redis_url)
    sampler = RssSampler()
    before = sampler.rss()
    started = time.perf_counter()
    with sampler:
        if kind == "export":
            await run_export(None, args[0], args[1])
        elif kind == "purge":
            await purge_deletion(None, args[0])
        else:
            raise SystemExit(f"unknown job {kind!r}: export or purge")
    elapsed = time.perf_counter() - started
    await redis.disconnect()
    await db.close_pool()
    mb = 1024 * 1024
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "rss_before_mb": before / mb,
                "rss_peak_mb": max(sampler.samples) / mb,
                "rss_growth_mb": (max(sampler.samples) - before) / mb,
                "samples": len(sampler.samples),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], *sys.argv[2:]))
