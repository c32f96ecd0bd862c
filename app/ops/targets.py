"""Where encrypted backups are kept: directories, or S3-compatible storage through boto3.

Each target is a flat store of named files with four operations. They are synchronous (boto3
is): callers run them in a thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from app.core.storage import DirectoryTarget as DirectoryTarget
from app.core.storage import StorageTarget
from app.settings import Settings

# the interface and the directory target live in core, shared with attachments
BackupTarget = StorageTarget


class S3Target:
    """A bucket (and key prefix) on S3 or any S3-compatible service; boto3 finds credentials
    the usual way (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile or an instance role).
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint: str = "", region: str = "") -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix
        self.client: Any = boto3.client(
            "s3", endpoint_url=endpoint or None, region_name=region or None
        )

    @property
    def label(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def put(self, name: str, source: Path) -> None:
        # one PUT (or a multipart upload completed at the end): never visible half-written
        self.client.upload_file(str(source), self.bucket, self.prefix + name)

    def fetch(self, name: str, dest: Path) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.download_file(self.bucket, self.prefix + name, str(dest))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(f"{self.label}{name}") from exc
            raise

    def open_read(self, name: str) -> IO[bytes]:
        body: IO[bytes] = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"]
        return body

    def names(self) -> list[str]:
        found: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(self.prefix) :]
                if name and "/" not in name:
                    found.append(name)
        return sorted(found)

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + name)


def configured_targets(settings: Settings) -> list[BackupTarget]:
    """Every directory in BACKUP_DIRS, plus the S3 bucket when BACKUP_S3_BUCKET is set."""
    targets: list[BackupTarget] = [
        DirectoryTarget(Path(part.strip()))
        for part in settings.backup_dirs.split(",")
        if part.strip()
    ]
    if settings.backup_s3_bucket:
        targets.append(
            S3Target(
                settings.backup_s3_bucket,
                settings.backup_s3_prefix,
                settings.backup_s3_endpoint,
                settings.backup_s3_region,
            )
        )
    return targets


def _device(path: Path) -> int:
    """The device (st_dev) a directory is on: of its nearest existing parent if not made yet."""
    probe = path.resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe.stat().st_dev


def placement_problem(targets: list[BackupTarget]) -> str | None:
    """Why the targets can't survive one disk failing (None when one of them is elsewhere: a
    bucket, or a directory on another device than the others)."""
    if any(not isinstance(t, DirectoryTarget) for t in targets):
        return None
    if len(targets) < 2:
        return "only one backup target is configured"
    devices = {_device(t.path) for t in targets if isinstance(t, DirectoryTarget)}
    if len(devices) < 2:
        labels = ", ".join(t.label for t in targets)
        return f"every backup target is on the same disk ({labels})"
    return None


async def warn_about_placement(settings: Settings) -> str | None:
    """At every start outside dev: warn the operator (log, and an operator alert while none is
    open) when the backup targets would all be lost with one disk."""
    import logging

    from app.ops.alerts import raise_operator_alert

    if settings.is_dev:
        return None
    problem = placement_problem(configured_targets(settings))
    if problem is None:
        return None
    advice = (
        "Put one BACKUP_DIRS entry on another disk or mount (another site), or set"
        " BACKUP_S3_BUCKET, so that one failure can't take every copy."
    )
    logging.getLogger("odex.ops").warning("backups: %s. %s", problem, advice)
    await raise_operator_alert("backup_targets", f"Backups: {problem}", advice, once=True)
    return problem
