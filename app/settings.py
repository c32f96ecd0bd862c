"""Settings: one msgspec Struct read from the environment once (plus dev secrets in var/)."""

from __future__ import annotations

import base64
import functools
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRETS_FILE = "dev-secrets.env"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything configurable about one Odex process; see README 'Configuration'."""

    env: str = "production"  # dev and test only when ODEX_ENV says so (dev mailbox, demo…)
    database_url: str = ""
    migration_database_url: str = ""
    redis_url: str = ""
    smtp_url: str = ""
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    mail_from: str = "Odex CRM <no-reply@crmodex.com>"
    privacy_contact: str = "privacy@crmodex.com"
    # who processes data for this installation, for /privacy/processors (app/privacy/processors)
    processor_hosting: str = ""  # e.g. "Hetzner Online GmbH, Germany"; empty: own servers
    processor_email: str = ""  # e.g. "Postmark (ActiveCampaign LLC), USA"; empty: SMTP_URL's host
    processor_backups: str = ""  # the S3 provider's name; empty: BACKUP_S3_ENDPOINT's host
    processor_attachments: str = ""  # with ATTACHMENTS_S3_BUCKET; empty: its endpoint's host
    data_dir: str = str(ROOT / "var")
    mailbox_dir: str = ""
    session_idle_minutes: int = 12 * 60
    session_absolute_hours: int = 7 * 24
    token_ttl_hours: int = 24
    reset_ttl_minutes: int = 60
    invite_ttl_days: int = 7
    crm_import_max_bytes: int = 1024**3  # CSV import upload limit (1 GB)
    crm_upload_keep_hours: int = 24  # an upload never imported is deleted after this (privacy)
    outbox_keep_days: int = 30  # sent mail is deleted from the outbox after this (privacy)
    usage_retention_days: int = 90  # usage events older than this are purged (privacy)
    export_link_hours: int = 24  # how long an export download link works (privacy)
    deletion_grace_days: int = 14  # account/workspace deletion can be cancelled meanwhile
    deletion_reminder_days: int = 3  # reminder mail this many days before the purge
    field_keys: str = ""  # "kid:base64key,kid:base64key", newest first (app/core/crypto.py)
    blind_index_key: str = ""  # base64 HMAC key for searchable encrypted fields
    stripe_secret_key: str = ""  # empty: billing runs in local test mode (not in production)
    stripe_webhook_secret: str = ""  # whsec_…; dev/test derive a local one from secret_key
    stripe_api_base: str = ""  # override Stripe's API address (tests' local fake)
    stripe_price_pro: str = ""
    stripe_price_business: str = ""
    billing_grace_days: int = 7
    billing_trial_days: int = 0
    # backups (app/ops): BACKUP_* env vars; see README "Backups"
    backup_database_url: str = ""  # the odex_backup role (BYPASSRLS, read-only) for pg_dump
    backup_key: str = ""  # base64 of 32 bytes: AES-256-GCM key of new backups
    backup_old_keys: str = ""  # comma-separated base64 keys still accepted for restore
    backup_dirs: str = ""  # comma-separated directories, each a backup target
    backup_s3_bucket: str = ""  # plus an S3-compatible target when set (boto3 credentials)
    backup_s3_endpoint: str = ""
    backup_s3_region: str = ""
    backup_s3_prefix: str = "odex-backups/"
    # attachments (app/attachments/store.py): in an S3-compatible bucket when set, else under
    # the data dir; credentials as for backups (AWS_* / a profile / an instance role)
    attachments_s3_bucket: str = ""
    attachments_s3_endpoint: str = ""  # empty: BACKUP_S3_ENDPOINT (empty too: AWS S3)
    attachments_s3_region: str = ""  # empty: BACKUP_S3_REGION
    attachments_s3_prefix: str = "odex-attachments/"  # then <workspace id>/<file>
    # the bucket files were in before (same endpoint and credentials): read from until
    # `odex attachments migrate-storage` has moved them (its prefix empty: the current one)
    attachments_s3_former_bucket: str = ""
    attachments_s3_former_prefix: str = ""
    backup_hour: int = 2  # UTC hour from which the day's backup is due
    backup_keep_daily: int = 7
    backup_keep_weekly: int = 4
    backup_keep_monthly: int = 6
    operator_email: str = ""  # mailed every operator alert (failed backups, undeliverable mail)
    pg_dump: str = ""  # path of pg_dump / pg_restore (default: a match on PATH or embedded)
    pg_restore: str = ""
    # production and outages (README "Production deployment")
    trusted_proxies: str = ""  # addresses/networks whose X-Forwarded-For is believed
    database_pool_size: int = 10  # connections per web process (workers take half)
    database_statement_cache_size: int = 100  # 0 behind PgBouncer in transaction mode
    job_lease_seconds: int = 30  # a long job whose worker stops renewing this is taken over
    mail_retry_hours: int = 24  # SMTP failures are retried with backoff this long, then alerted
    shutdown_drain_seconds: float = 0.0  # after SIGTERM /readyz says 503 this long, then stop
    # permessage-deflate on the live sockets: off, as Socket.IO and Phoenix ship it: each socket
    # would compress every push on its own (a zlib context per socket: CPU per push and memory
    # per tab); a board push is a few kB of HTML
    live_compression: bool = False
    worker_shutdown_seconds: int = 20  # after SIGTERM a job may finish this long, then re-queued
    # argon2id cost of password hashes: argon2-cffi's default, RFC 9106's low-memory profile.
    # Production refuses anything weaker; the test suite lowers it (it hashes ~1,000 passwords).
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 64 * 1024
    password_hash_parallelism: int = 4

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def dev_features(self) -> bool:
        """The dev mailbox, the demo seed and simulated billing: only in dev (and the tests)."""
        return self.env in ("dev", "test")

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
    generated = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(48),
        "FIELD_KEYS": lambda: "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "BLIND_INDEX_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "BACKUP_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    missing = [key for key in generated if key not in values]
    for key in missing:
        values[key] = generated[key]()
    if missing:
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return values


MODES = ("dev", "test", "production")
# Secrets without which no production process may start (dev and test generate them).
PRODUCTION_SECRETS = ("SECRET_KEY", "FIELD_KEYS", "BLIND_INDEX_KEY")
# What a production web process or worker needs besides the secrets (checked by `odex serve`
# and `odex worker`, not by every command: `odex migrate` needs only the owner's URL).
PRODUCTION_SERVICES = ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "BASE_URL")


# Fixed in code, never read from the environment (ENV and DATA_DIR come as ODEX_ENV and
# ODEX_DATA_DIR); every other setting is read from its name in capitals, e.g. REDIS_URL.
NOT_FROM_ENV = frozenset(
    {
        "env",
        "data_dir",
        "privacy_contact",
        "session_idle_minutes",
        "session_absolute_hours",
        "token_ttl_hours",
        "reset_ttl_minutes",
        "invite_ttl_days",
    }
)


def _flag(raw: str) -> bool:
    """A yes/no setting: 1/true/yes/on or 0/false/no/off (any case; empty is no)."""
    word = raw.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"a yes/no setting is 1/true/yes/on or 0/false/no/off, not {raw!r}")


# how a variable's text becomes the value
READ: dict[object, Callable[[str], object]] = {int: int, float: float, bool: _flag}


class SettingsError(RuntimeError):
    """The environment cannot run Odex (unknown mode, or production without its secrets)."""


def missing_for_production(env: dict[str, str], names: tuple[str, ...]) -> list[str]:
    """The variables of `names` that are unset or empty in `env`."""
    return [name for name in names if not env.get(name, "").strip()]


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment; dev and test fill missing secrets from var/.

    Without ODEX_ENV the process is a production one: nothing for local use exists and every
    secret must be given (an unset variable must never open the dev mailbox to the world).
    """
    env = dict(os.environ if environ is None else environ)
    mode = env.get("ODEX_ENV", "").strip() or "production"
    if mode not in MODES:
        raise SettingsError(f"ODEX_ENV must be one of {', '.join(MODES)}, not {mode!r}")
    data_dir = Path(env.get("ODEX_DATA_DIR", str(ROOT / "var")))
    if mode != "production":
        for key, value in ensure_dev_secrets(data_dir).items():
            env.setdefault(key, value)
    elif missing := missing_for_production(env, PRODUCTION_SECRETS):
        raise SettingsError(
            f"{', '.join(missing)} must be set in production (ODEX_ENV is unset or production;"
            " set ODEX_ENV=dev for local use)"
        )
    fields: dict[str, object] = {
        "env": mode,
        "data_dir": str(data_dir),
        "mailbox_dir": str(data_dir / "mailbox"),
        "backup_dirs": f"{data_dir / 'backups' / 'primary'},{data_dir / 'backups' / 'secondary'}",
    }
    for field in msgspec.structs.fields(Settings):  # FIELD_NAME from the environment if set
        raw = env.get(field.name.upper())
        if raw is not None and field.name not in NOT_FROM_ENV:
            fields[field.name] = READ.get(field.type, str)(raw)
    if "base_url" in fields:
        fields["base_url"] = str(fields["base_url"]).rstrip("/")
    settings = msgspec.convert(fields, Settings)
    if mode == "production" and weaker_password_hashing(settings):
        raise SettingsError(
            "PASSWORD_HASH_TIME_COST, PASSWORD_HASH_MEMORY_KIB and PASSWORD_HASH_PARALLELISM may"
            " only be lowered in dev and test (production keeps at least 3, 65536 and 4)"
        )
    return settings


def weaker_password_hashing(settings: Settings) -> bool:
    """Whether the argon2id cost is below the defaults (allowed only outside production)."""
    strong = Settings()
    return (
        settings.password_hash_time_cost < strong.password_hash_time_cost
        or settings.password_hash_memory_kib < strong.password_hash_memory_kib
        or settings.password_hash_parallelism < strong.password_hash_parallelism
    )


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
