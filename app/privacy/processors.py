"""The processors page's list, from the settings: who processes data for this installation.

Nothing here is a placeholder: the hosting provider, the mail relay and the backup and file
storage are named by the operator (PROCESSOR_HOSTING, PROCESSOR_EMAIL, PROCESSOR_BACKUPS,
PROCESSOR_ATTACHMENTS) or, when not set, described as what the configuration really does (the
operator's own servers, the SMTP server in SMTP_URL, the S3 endpoints in BACKUP_S3_* and
ATTACHMENTS_S3_*). Stripe is listed only when billing talks
to Stripe (STRIPE_SECRET_KEY set).
"""

from __future__ import annotations

from urllib.parse import urlparse

from app.settings import Settings

ENCRYPTED = (
    "contact email addresses and phone numbers, note bodies, the cells of failed import rows"
    " and MFA secrets"
)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


def processors(settings: Settings) -> list[dict[str, object]]:
    """The processors (and where nobody is one, what happens instead) for the public page."""
    found: list[dict[str, object]] = []
    found.append(
        {
            "category": "hosting",
            "name": settings.processor_hosting
            or "No separate provider: the operator of this installation runs the servers",
            "purpose": "Runs the web and worker processes, PostgreSQL and Valkey.",
            "data": "Everything Odex stores: account, usage and CRM data. Odex itself encrypts"
            f" {ENCRYPTED} (AES-256-GCM, each value bound to its row); the rest is protected"
            " by the host's disk encryption, which the operator runs.",
        }
    )
    if settings.stripe_secret_key:
        found.append(
            {
                "category": "payment processing",
                "name": "Stripe",
                "purpose": "Payments and subscriptions of paid plans (Checkout, Customer Portal).",
                "data": "The workspace's name, the email of the admin who set up billing, the"
                " plan; card details are typed on Stripe's pages and never reach Odex.",
            }
        )
    smtp = urlparse(settings.smtp_url).hostname or ""
    found.append(
        {
            "category": "email delivery",
            "name": settings.processor_email
            or (
                f"The mail server at {smtp} (SMTP_URL)"
                if smtp not in LOCAL_HOSTS
                else "No separate provider: a mail server on this installation's own host"
            ),
            "purpose": "Delivers service mail: verification, password resets, invitations,"
            " billing notices, security alerts, export and deletion notices, policy changes.",
            "data": "The recipient's name and address and the message.",
        }
    )
    if settings.backup_s3_bucket:
        endpoint = urlparse(settings.backup_s3_endpoint).hostname
        found.append(
            {
                "category": "backup storage",
                "name": settings.processor_backups
                or (f"S3-compatible storage at {endpoint}" if endpoint else "Amazon S3 (AWS)"),
                "purpose": "Keeps a copy of the daily backups in another place.",
                "data": "Whole-database backups, encrypted by Odex (AES-256-GCM) under a key the"
                " storage never sees.",
            }
        )
    if settings.attachments_s3_bucket:
        endpoint = urlparse(
            settings.attachments_s3_endpoint or settings.backup_s3_endpoint
        ).hostname
        found.append(
            {
                "category": "file storage",
                "name": settings.processor_attachments
                or (f"S3-compatible storage at {endpoint}" if endpoint else "Amazon S3 (AWS)"),
                "purpose": "Keeps the files attached to contacts, companies, deals and invoices.",
                "data": "The attached files and their thumbnails, encrypted by Odex (AES-256-GCM)"
                " under keys the storage never sees; names and types stay in the database.",
            }
        )
    return found
