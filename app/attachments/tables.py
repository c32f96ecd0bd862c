"""Piccolo tables of the attachments app (DDL and RLS live in migrations/attachments)."""

from piccolo.columns import UUID, BigInt, Boolean, Text
from piccolo.table import Table

from app.core.columns import Created, TenantRow


class Attachment(TenantRow, Created, Table, tablename="attachments"):
    """A file attached to a record; its bytes are encrypted under the data dir (store.py)."""

    subject_type = Text()  # contact | company | deal | invoice
    subject_id = UUID()
    file_name = Text()  # as uploaded, control characters and path separators removed
    content_type = Text()  # sniffed from the bytes, never the browser's word
    size_bytes = BigInt()
    sha256 = Text()  # of the plaintext
    has_thumbnail = Boolean(default=False)
    uploaded_by = UUID(null=True, default=None)
    stored_in = Text(null=True, default=None)  # store.py's place: 'dir' or 's3:<bucket>/<prefix>'
