"""File names in `Content-Disposition` are escaped (RFC 6266 / RFC 5987), wherever they come
from: an uploaded file's name can't break out of the header or inject another one."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from app.core.web import content_disposition
from tests.helpers import Account

NASTY = 'q"u;ote\\d é 東京 "; filename="evil.exe.csv'


def test_content_disposition_escapes_any_name() -> None:
    header = content_disposition(NASTY)
    plain, star = header.split("; filename*=UTF-8''")
    assert plain.startswith('attachment; filename="') and plain.endswith('"')
    assert '"' not in plain[len('attachment; filename="') : -1]  # no quote breaks out
    assert all(0x20 <= ord(c) < 0x7F for c in header)  # nothing outside visible ASCII
    assert ";" not in plain.split("=", 1)[1] and "\\" not in plain
    assert unquote(star) == NASTY.replace("\\", "_")
    assert content_disposition("report\r\nSet-Cookie: x=1.csv").count("\n") == 0
    assert content_disposition("").startswith('attachment; filename="download"')


async def test_uploaded_name_is_escaped_in_the_failed_rows_download(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await client_a.refresh_csrf("/app")
    uploaded = await client_a.post(
        "/imports",
        data={"kind": "contacts"},
        files={"file": (NASTY, b"first_name,last_name\nAda,Lovelace\n", "text/csv")},
        headers={"X-CSRF-Token": client_a.csrf},
    )
    assert uploaded.status_code == 303, uploaded.text[:500]
    report = await client_a.get(uploaded.headers["location"] + "/errors.csv")
    assert report.status_code == 200
    header = report.headers["content-disposition"]
    plain, star = header.split("; filename*=UTF-8''")
    assert header == content_disposition(unquote(star))  # one helper made it
    assert '"' not in plain[len('attachment; filename="') : -1]
    assert "東京" in unquote(star) and unquote(star).endswith("-failed-rows.csv")
