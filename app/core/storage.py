"""Flat stores of named files: the interface backups (app/ops/targets.py) and attachments
(app/attachments/store.py) write through, with two implementations: a local directory, and a
bucket (and key prefix) on S3 or any S3-compatible service.

A target is synchronous (boto3 is): callers run it in a thread. Names are flat (no "/"):
callers make them from ids, never from user input.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol, TypedDict


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

    def modified(self) -> dict[str, float]:
        """Every file name held here with when it was last written (Unix seconds)."""
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

    def modified(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for name in self.names():
            with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                found[name] = (self.path / name).stat().st_mtime
        return found

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.path / name).unlink()


class S3Object(TypedDict):
    """An object of a `list_objects_v2` page (the keys read here)."""

    Key: str
    LastModified: datetime


class S3ListPage(TypedDict, total=False):
    """A page of `list_objects_v2` (without `Contents` when the prefix holds nothing)."""

    Contents: list[S3Object]


class S3Body(TypedDict):
    """What `get_object` answers (the key read here): the object's streamed body."""

    Body: IO[bytes]


class S3Paginator(Protocol):
    def paginate(self, *, Bucket: str, Prefix: str) -> Iterable[S3ListPage]: ...  # noqa: N803


class S3Client(Protocol):
    """The calls of boto3's S3 client the targets make (boto3 ships no types)."""

    def upload_file(self, filename: str, bucket: str, key: str) -> None: ...
    def download_file(self, bucket: str, key: str, filename: str) -> None: ...
    def get_object(self, *, Bucket: str, Key: str) -> S3Body: ...  # noqa: N803
    def get_paginator(self, operation_name: str) -> S3Paginator: ...
    def delete_object(self, *, Bucket: str, Key: str) -> object: ...  # noqa: N803


def s3_client(endpoint: str = "", region: str = "") -> S3Client:
    """A boto3 S3 client; boto3 finds credentials the usual way (AWS_ACCESS_KEY_ID /
    AWS_SECRET_ACCESS_KEY, a profile or an instance role). Clients are thread-safe: share one."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None)


class S3Target:
    """A bucket (and key prefix) on S3 or any S3-compatible service."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint: str = "",
        region: str = "",
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client: S3Client = client if client is not None else s3_client(endpoint, region)

    @property
    def label(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def put(self, name: str, source: Path) -> None:
        # one PUT (or a multipart upload completed at the end): never visible half-written
        self.client.upload_file(str(source), self.bucket, self.prefix + name)

    def _missing(self, exc: Exception, name: str) -> FileNotFoundError | None:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return FileNotFoundError(f"{self.label}{name}") if code in ("404", "NoSuchKey") else None

    def fetch(self, name: str, dest: Path) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.download_file(self.bucket, self.prefix + name, str(dest))
        except ClientError as exc:
            if missing := self._missing(exc, name):
                raise missing from exc
            raise

    def open_read(self, name: str) -> IO[bytes]:
        from botocore.exceptions import ClientError

        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)
        except ClientError as exc:
            if missing := self._missing(exc, name):
                raise missing from exc
            raise
        return found["Body"]  # streamed: read as the caller reads

    def _listing(self) -> dict[str, float]:
        found: dict[str, float] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(self.prefix) :]
                if name and "/" not in name:
                    found[name] = item["LastModified"].timestamp()
        return found

    def names(self) -> list[str]:
        return sorted(self._listing())

    def modified(self) -> dict[str, float]:
        return self._listing()

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + name)
