"""Flat stores of named files: the interface backups (app/ops/targets.py) and attachments
(app/attachments/store.py) write through, and its local-directory implementation.

A target is synchronous (boto3 is, for the S3 one in ops): callers run it in a thread. Names
are flat (no "/"): callers make them from ids, never from user input.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import IO, Protocol


class StorageTarget(Protocol):
    """One place files are kept (a directory, a bucket)."""

    @property
    def label(self) -> str:
        """Where it is, for tables and messages (never holds credentials)."""
        ...

    def put(self, name: str, source: Path) -> None:
        """Store `source` as `name`, atomically: a reader never sees half a file."""

    def fetch(self, name: str, dest: Path) -> None:
        """Copy `name` into `dest`; FileNotFoundError when this target lacks it."""

    def open_read(self, name: str) -> IO[bytes]:
        """`name` opened for reading as a stream; FileNotFoundError when it is missing."""
        ...

    def names(self) -> list[str]:
        """Every file name held here."""
        ...

    def delete(self, name: str) -> None:
        """Remove `name`; a missing file is not an error (deleting is idempotent)."""


class DirectoryTarget:
    """A directory (a local disk, or a mounted volume in another location)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def label(self) -> str:
        return f"dir:{self.path}"

    def put(self, name: str, source: Path) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.path / f".{name}.partial"
        shutil.copyfile(source, partial)
        partial.chmod(0o600)
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, self.path / name)

    def fetch(self, name: str, dest: Path) -> None:
        shutil.copyfile(self.path / name, dest)

    def open_read(self, name: str) -> IO[bytes]:
        return (self.path / name).open("rb")

    def names(self) -> list[str]:
        if not self.path.exists():
            return []
        return sorted(p.name for p in self.path.iterdir() if not p.name.startswith("."))

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.path / name).unlink()
