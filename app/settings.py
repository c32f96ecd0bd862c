"""Settings: one msgspec Struct read from the environment once (plus dev secrets in var/)."""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRETS_FILE = "dev-secrets.env"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything configurable about one Odex process; see README 'Configuration'."""

    env: str = "dev"
    database_url: str = ""
    migration_database_url: str = ""
    redis_url: str = ""
    smtp_url: str = ""
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    mail_from: str = "Odex CRM <no-reply@crmodex.com>"
    privacy_contact: str = "privacy@crmodex.com"
    data_dir: str = str(ROOT / "var")
    mailbox_dir: str = ""
    session_idle_minutes: int = 12 * 60
    session_absolute_hours: int = 7 * 24
    token_ttl_hours: int = 24
    reset_ttl_minutes: int = 60
    invite_ttl_days: int = 7

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def ensure_dev_secrets(data_dir: Path) -> dict[str, str]:
    """Generate dev secrets on first run into an ignored file; never used in production."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / DEV_SECRETS_FILE
    values = _read_env_file(path)
    if "SECRET_KEY" not in values:
        values["SECRET_KEY"] = secrets.token_urlsafe(48)
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return values


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment; dev and test fill missing secrets from var/."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("ODEX_ENV", "dev")
    data_dir = Path(env.get("ODEX_DATA_DIR", str(ROOT / "var")))
    if mode != "production":
        for key, value in ensure_dev_secrets(data_dir).items():
            env.setdefault(key, value)
    elif not env.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in production")
    fields = {
        "env": mode,
        "database_url": env.get("DATABASE_URL", ""),
        "migration_database_url": env.get("MIGRATION_DATABASE_URL", ""),
        "redis_url": env.get("REDIS_URL", ""),
        "smtp_url": env.get("SMTP_URL", ""),
        "secret_key": env.get("SECRET_KEY", ""),
        "base_url": env.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        "mail_from": env.get("MAIL_FROM", "Odex CRM <no-reply@crmodex.com>"),
        "data_dir": str(data_dir),
        "mailbox_dir": env.get("MAILBOX_DIR", str(data_dir / "mailbox")),
    }
    return msgspec.convert(fields, Settings)


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
