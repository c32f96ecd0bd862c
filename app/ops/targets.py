"""Where encrypted backups are kept: directories, or S3-compatible storage through boto3.

Each target is a flat store of named files with four operations. They are synchronous (boto3
is): callers run them in a thread.
"""

from __future__ import annotations

from pathlib import Path

from app.core.storage import DirectoryTarget as DirectoryTarget
from app.core.storage import S3Target as S3Target
from app.core.storage import StorageTarget
from app.settings import Settings

# the interface and both targets live in core, shared with attachments
BackupTarget = StorageTarget


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
