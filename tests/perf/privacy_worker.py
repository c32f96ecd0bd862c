"""A one-job worker process for the privacy benchmarks (and the purge kill test): runs an
export or a purge and prints, as JSON, its wall time, its CPU time (its child processes' too)
and the memory of the job itself: resident memory (its child processes' too) sampled every
10 ms while the job runs, minus the resident memory just before it. The process first loads
the domains as an arq worker does at start-up, so the job runs as it would in one.

Usage: python -m tests.perf.privacy_worker export TENANT EXPORT_ID | purge REQUEST_ID
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.01
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
PROC_CHILDREN = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


class RssSampler:
    """This process's resident memory, sampled on a thread (the job holds the event loop)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.samples: list[int] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        """This process's resident memory and its children's (a pool the job would start).

        Read from /proc where it can (the children of each thread, each one's statm): psutil's
        `children()` reads every process of the machine, which every 10 ms took a large part
        of a core (and of the GIL) from the job being measured."""
        if not PROC_CHILDREN.exists():
            return self._rss_by_psutil()
        total, pids, seen = 0, [self.process.pid], set()
        while pids:
            pid = pids.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                with open(f"/proc/{pid}/statm", "rb") as statm:
                    total += int(statm.read().split()[1]) * PAGE
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children", "rb") as children:
                        pids += [int(child) for child in children.read().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue  # ended meanwhile
        return total

    def _rss_by_psutil(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return int(total)

    def cpu(self) -> float:
        """CPU seconds (user and system) of this process and its children, living or ended."""
        times = self.process.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in self.process.children(recursive=True):
            try:
                child_times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += child_times.user + child_times.system
        return float(total)

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
    from app import domains
    from app.core import db, redis
    from app.privacy.export import run_export
    from app.privacy.purge import purge_deletion
    from app.settings import get_settings

    # what an arq worker has done before its first job (app/worker.py): every domain imported
    # and wired, the data map read; not the job's time or memory
    domains.load()
    await db.start_pool(max_size=2)
    await redis.connect(get_settings().redis_url)
    sampler = RssSampler()
    before = sampler.rss()
    cpu_before = sampler.cpu()
    started = time.perf_counter()
    with sampler:
        if kind == "export":
            await run_export(None, args[0], args[1])
        elif kind == "purge":
            await purge_deletion(None, args[0])
        else:
            raise SystemExit(f"unknown job {kind!r}: export or purge")
    elapsed = time.perf_counter() - started
    cpu = sampler.cpu() - cpu_before
    await redis.disconnect()
    await db.close_pool()
    mb = 1024 * 1024
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "rss_before_mb": before / mb,
                "rss_peak_mb": max(sampler.samples) / mb,
                "rss_growth_mb": (max(sampler.samples) - before) / mb,
                "samples": len(sampler.samples),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], *sys.argv[2:]))
