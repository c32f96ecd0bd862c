"""Invoice PDFs: the print page rendered by WeasyPrint, with no network access.

The page's stylesheets are read from static/ on disk through `StaticOnly`; every other URL
(another host, file:, data:, a path outside static/) is refused, so rendering never reaches out.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import anyio
import anyio.to_thread

from app.settings import ROOT

STATIC = (ROOT / "static").resolve()
# The page is rendered as if served from here; only its /static/ URLs are answered (from disk).
BASE_URL = "http://odex.invalid/"


def static_file(url: str) -> Path | None:
    """The file under static/ that `url` names, or None (anything else is refused)."""
    prefix = BASE_URL + "static/"
    if not url.startswith(prefix):
        return None
    relative = url[len(prefix) :].split("?", 1)[0].split("#", 1)[0]
    path = (STATIC / relative).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        return None
    return path


def _fetcher() -> object:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnly(URLFetcher):
        """Serves /static/ files from disk; refuses every other URL (no network, no file:)."""

        def fetch(self, url: str, headers: object = None) -> object:
            path = static_file(url)
            if path is None:
                raise ValueError(f"not fetched while rendering a PDF: {url[:200]}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})

    return StaticOnly()


def _render(html: str) -> bytes:
    from weasyprint import HTML

    document = HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher())
    return bytes(document.write_pdf())


_limiter: anyio.CapacityLimiter | None = None


async def html_to_pdf(html: str) -> bytes:
    """The PDF of a page, rendered in a worker thread (it takes a moment of CPU), two at a time
    per process so a burst of PDFs can't take every thread."""
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(2)
    return await anyio.to_thread.run_sync(_render, html, limiter=_limiter)
