"""The `odex` command: run (everything), serve, worker, migrate, seed, vendor, backup, restore,
audit-verify, attachments migrate-storage."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from app.settings import ROOT, SettingsError, get_settings

# What `odex vendor` copies from node_modules (npm) into static/vendor (served, never a CDN).
VENDOR_FILES = {
    "htmx.org/dist/htmx.min.js": "htmx.min.js",
    "htmx-ext-ws/dist/ws.min.js": "htmx-ext-ws.min.js",
    "sortablejs/Sortable.min.js": "Sortable.min.js",
    "chart.js/dist/chart.umd.min.js": "chart.umd.min.js",
    "bootstrap/dist/css/bootstrap.min.css": "bootstrap.min.css",
    "bootstrap/dist/js/bootstrap.bundle.min.js": "bootstrap.bundle.min.js",
    "bootstrap-icons/font/bootstrap-icons.min.css": "bootstrap-icons.min.css",
    "bootstrap-icons/font/fonts": "fonts",
}


def vendor() -> None:
    """Copy the npm packages' built files into static/vendor."""
    target = ROOT / "static" / "vendor"
    target.mkdir(parents=True, exist_ok=True)
    for source, name in VENDOR_FILES.items():
        path = ROOT / "node_modules" / source
        if not path.exists():
            sys.exit(f"{path} is missing: run `npm ci` first (make does this for you)")
        if path.is_dir():
            shutil.copytree(path, target / name, dirs_exist_ok=True)
        else:
            shutil.copy2(path, target / name)


def _data_dir() -> Path:
    return Path(os.environ.get("ODEX_DATA_DIR", str(ROOT / "var")))


def start_embedded_services() -> list[object]:
    """Start embedded PostgreSQL / Valkey / SMTP sink for whatever URL is not configured.

    Sets DATABASE_URL, MIGRATION_DATABASE_URL, REDIS_URL and SMTP_URL in os.environ so that
    child processes (web, worker) use them. Returns the started services (to stop them).
    """
    from app.core import embedded

    if get_settings().is_production:
        sys.exit(
            "DATABASE_URL, MIGRATION_DATABASE_URL, REDIS_URL and SMTP_URL must be set in "
            "production: embedded servers are for local use (ODEX_ENV=dev) only"
        )
    started: list[object] = []
    try:
        _start_missing(_data_dir(), started)
    except embedded.LocalExtraMissing as exc:
        stop_services(started)
        sys.exit(f"odex: {exc}")
    get_settings.cache_clear()
    return started


def _start_missing(data: Path, started: list[object]) -> None:
    """Start the embedded server of each URL not configured, appending it to `started`."""
    from app.core import embedded

    if not os.environ.get("DATABASE_URL"):
        pg = embedded.EmbeddedPostgres(data / "postgres").start()
        asyncio.run(pg.bootstrap())
        os.environ["DATABASE_URL"] = pg.url(embedded.APP_ROLE)
        os.environ["MIGRATION_DATABASE_URL"] = pg.url(embedded.OWNER_ROLE)
        started.append(pg)
        print(f"embedded PostgreSQL 18 on socket {pg.socket_dir}", flush=True)
    if not os.environ.get("REDIS_URL"):
        valkey = embedded.EmbeddedValkey(data / "valkey").start()
        os.environ["REDIS_URL"] = valkey.url
        started.append(valkey)
        print(f"embedded Valkey on {valkey.url}", flush=True)
    if not os.environ.get("SMTP_URL"):
        sink = embedded.MailSink(data / "mailbox").start()
        os.environ["SMTP_URL"] = sink.url
        os.environ.setdefault("MAILBOX_DIR", str(sink.mailbox_dir))
        started.append(sink)
        print(f"mail sink on {sink.url} (see /dev/mailbox)", flush=True)


def stop_services(services: list[object]) -> None:
    for service in reversed(services):
        service.stop()  # type: ignore[attr-defined]


def migrate() -> None:
    """Run every Piccolo app's migrations as the schema owner."""
    os.environ["ODEX_DB_ROLE"] = "owner"
    if not os.environ.get("MIGRATION_DATABASE_URL"):
        sys.exit("MIGRATION_DATABASE_URL (the odex_owner role) is required to migrate")
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = asyncio.run(run_forwards("all"))
    if not result.success:
        sys.exit(f"migrations failed: {result.message}")


def seed() -> None:
    """Seed the demo workspace when the database has no users yet."""
    from app.seed import seed_demo

    asyncio.run(seed_demo())


def serve(host: str, port: int, certfile: str | None, keyfile: str | None) -> None:
    """The web server; with a certificate it serves HTTPS and wss:// with TLS 1.3 as minimum."""
    from app import processes
    from app.ops.tls import uvicorn_ssl_factory

    if bool(certfile) != bool(keyfile):
        sys.exit("--certfile and --keyfile go together")
    processes.require_services("serve")
    ssl_kwargs: processes.SslOptions = {}
    if certfile and keyfile:
        # uvicorn builds the context from the files; the factory raises its floor to TLS 1.3.
        ssl_kwargs = {
            "ssl_certfile": certfile,
            "ssl_keyfile": keyfile,
            "ssl_context_factory": uvicorn_ssl_factory,
        }
    processes.serve(host, port, ssl_kwargs)


def worker() -> None:
    from app import processes

    processes.require_services("worker")
    processes.worker()


def run(host: str, port: int) -> None:
    """Everything for local use: services, migrations, demo data, web + worker, supervised.

    A web or worker process that exits is started again (with backoff); only Ctrl-C (or
    SIGTERM) stops everything, the embedded PostgreSQL and Valkey last.
    """
    from app.processes import Child, say, supervise
    from app.settings import get_settings

    settings = get_settings()
    services = start_embedded_services() if not settings.is_production else []
    stop = {"requested": False}

    def request_stop(*_: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    try:
        steps = ("migrate", "seed") if settings.is_dev else ("migrate",)
        for step in steps:
            if subprocess.call([sys.executable, "-m", "app.cli", step]) != 0:  # noqa: S603
                sys.exit(f"`odex {step}` failed; see above")
        me = [sys.executable, "-m", "app.cli"]
        children = [
            Child("web", [*me, "serve", "--host", host, "--port", str(port)]),
            Child("worker", [*me, "worker"]),
        ]
        say(f"Odex CRM is running at http://{host}:{port}  (Ctrl-C stops everything)")
        supervise(children, lambda: stop["requested"])
    except KeyboardInterrupt:
        pass
    finally:
        stop_services(services)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="odex", description="Odex CRM")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "serve"):
        p = sub.add_parser(name, help="start everything" if name == "run" else "web server only")
        p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        if name == "serve":
            p.add_argument("--certfile", help="TLS certificate (PEM): serve HTTPS, TLS 1.3 only")
            p.add_argument("--keyfile", help="TLS private key (PEM)")
    sub.add_parser("worker", help="the arq worker (jobs and cron)")
    sub.add_parser("migrate", help="apply database migrations as odex_owner")
    sub.add_parser("seed", help="seed the demo workspace into an empty database")
    sub.add_parser("vendor", help="copy npm front-end packages into static/vendor")
    backup = sub.add_parser("backup", help="take an encrypted backup now (or --list them)")
    backup.add_argument("--list", action="store_true", help="list the backups register")
    restore = sub.add_parser("restore", help="restore a backup into an EMPTY database")
    restore.add_argument("source", help="backup id or file name from `backup --list`, or a path")
    restore.add_argument("--target-url", required=True, help="the empty database, as its owner")
    sub.add_parser("audit-verify", help="verify the audit log hash chains").add_argument("--tenant")
    files = sub.add_parser("attachments", help="attachments' storage")
    files.add_argument(
        "action",
        choices=["migrate-storage"],
        help="migrate-storage: move every file to where new ones go (ATTACHMENTS_S3_BUCKET)",
    )
    args = parser.parse_args(argv)
    try:
        _dispatch(args)
    except SettingsError as exc:
        sys.exit(f"odex {args.command}: {exc}")


def _dispatch(args: argparse.Namespace) -> None:
    if args.command == "run":
        run(args.host, args.port)
    elif args.command == "serve":
        serve(args.host, args.port, args.certfile, args.keyfile)
    elif args.command == "worker":
        worker()
    elif args.command in ("migrate", "seed"):
        if args.command == "seed" and not get_settings().dev_features:
            sys.exit("odex seed: the demo workspace exists only with ODEX_ENV=dev")
        services = [] if os.environ.get("DATABASE_URL") else start_embedded_services()
        try:
            migrate() if args.command == "migrate" else seed()
        finally:
            stop_services(services)
    elif args.command == "vendor":
        vendor()
    elif args.command in ("backup", "restore"):
        from app.ops.commands import backup_command, restore_command

        services = [] if os.environ.get("DATABASE_URL") else start_embedded_services()
        try:
            if args.command == "backup":
                backup_command(args.list)
            else:
                restore_command(args.source, args.target_url)
        finally:
            stop_services(services)
    elif args.command == "attachments":
        from app.attachments.relocate import migrate_storage_command

        services = [] if os.environ.get("DATABASE_URL") else start_embedded_services()
        try:
            status = migrate_storage_command()
        finally:
            stop_services(services)
        sys.exit(status)
    elif args.command == "audit-verify":
        from app.security.audit import audit_verify_command

        services = [] if os.environ.get("DATABASE_URL") else start_embedded_services()
        try:
            status = audit_verify_command(args.tenant)
        finally:
            stop_services(services)
        sys.exit(status)


if __name__ == "__main__":
    main()
