"""The attachments domain, declared once (see app.core.domain)."""

from __future__ import annotations

from arq.cron import cron

from app.attachments import routes
from app.attachments.jobs import rotate_attachment_keys
from app.attachments.relocate import migrate_attachment_storage
from app.attachments.services import on_record_changed
from app.core.domain import Domain, Slot, Subscription
from app.core.events import RecordChanged

DOMAIN = Domain(
    name="attachments",
    routes=routes.ROUTES,
    # the storage move is started by `odex attachments migrate-storage`; a worker resumes a
    # run that was killed (its lease ran out)
    jobs=(rotate_attachment_keys, migrate_attachment_storage),
    # after the field rotation (03:17); a no-op once every file is under the newest key
    crons=(cron(rotate_attachment_keys, hour={3}, minute={47}, timeout=3600),),
    slots=(Slot("record_panel", "attachments/_slot.html"),),
    # a deleted record's files go at once (the daily sweep only catches what this missed)
    subscriptions=(Subscription(RecordChanged, on_record_changed),),
)
