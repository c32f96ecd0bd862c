"""The generated hostile-input sweep's parts: the forms the pages render, hostile values
(hypothesis strategies), request bodies in every encoding, and what a 4xx must say."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

from hypothesis import strategies as st

SKIP = ("/static", "/ws")  # files, the socket
PARAM_RE = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")
# Query names the list pages and links use, besides those of the rendered GET forms.
QUERY_NAMES = (
    "q", "sort", "after", "before", "cursor", "page", "status", "from", "to", "action",
    "actor", "next", "token", "version", "pipeline", "company", "kind", "topic", "sent",
    "checkout", "plan", "open",
)  # fmt: skip
HOSTILE_CORPUS = (
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m\x7f",
    "\u0085\u009b",
    "\ud800",
    "x\udfffy",
    "\u202eevil\u202c",
    "مرحبا بالعالم",
    "👩\u200d👩\u200d👧\u200d👦🏳️\u200d🌈",
    "e\u0301\u0301\u0301",
    "\ufeff\u200b",
    "x" * 100_000,
    "NaN",
    "-NaN",
    "inf",
    "-1e309",
    "1e5",
    "9" * 40,
    "-0",
    "0",
    "-1",
    "2147483648",
    "٣",
    "2026-13-45",
    "0000-00-00",
    "9999-12-31",
    "31/12/2026",
    "not-a-uuid",
    str(uuid.UUID(int=0)),
    "'; drop table contacts;--",
    "%00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "\r\n\r\nX-Injected: 1",
    " ",
    "",
    "\uff46\uff55\uff4c\uff4c\u3000\uff57\uff49\uff44\uff54\uff48"  # full width,
    "a@b",
    "(@x.com",
    "on",
    "true",
)
ALPHABET = [
    "\x00", "\x01", "\x08", "\x0b", "\x1f", "\x7f", "\x85", "\ud800", "\udfff", "\u200b",
    "\u202e", "\ufeff", "\t", "\n", "\r", "a", "Z", "7", "-", ".", "@", "é", "ß", "中",
    "\U0001d518", "😀", "\u0301", "%", "'", '"', "<", ",",
]  # fmt: skip
hostile = st.one_of(  # small draws: one example sweeps dozens of requests
    st.sampled_from(HOSTILE_CORPUS),
    st.text(alphabet=st.sampled_from(ALPHABET), max_size=16),
    st.text(max_size=8),
)
MUTATIONS = ("keep", "keep", "hostile", "hostile", "missing", "repeat")
BODIES = ("form", "form", "multipart", "multipart-bad-utf8", "json", "text", "none")
CSRF_WAYS = ("header", "header", "field", "non-ascii-field", "non-ascii-header", "missing")


@dataclass
class PageForm:
    """A `<form>` (or an hx-post element) as a page rendered it."""

    method: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)


class FormParser(HTMLParser):
    """Collect forms, their inputs, selects, textareas and named buttons, and hx-* targets."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[PageForm] = []
        self.current: PageForm | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            method = "POST" if a.get("method", "get").lower() == "post" or "hx-post" in a else "GET"
            action = a.get("hx-post") or a.get("hx-get") or a.get("action") or self.page
            self.current = PageForm(method, action)
            self.forms.append(self.current)
            return
        for verb in ("post", "get"):  # a button or link that htmx sends by itself
            if f"hx-{verb}" in a and tag != "form" and self.current is None:
                self.forms.append(PageForm(verb.upper(), a[f"hx-{verb}"]))
        if self.current is None or not a.get("name"):
            return
        name = a["name"]
        if tag == "input" and a.get("type") not in ("submit", "reset", "image"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                self.current.fields.setdefault(name, [])
            else:
                self.current.fields.setdefault(name, []).append(a.get("value", ""))
        elif tag == "button":
            self.current.fields.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select":
            self.select = name
            self.current.fields.setdefault(name, [])
        elif tag == "option" and self.select and not self.current.fields[self.select]:
            self.current.fields[self.select].append(a.get("value", ""))
        elif tag == "textarea":
            self.textarea = name
            self.current.fields.setdefault(name, []).append("")

    def handle_data(self, data: str) -> None:
        if self.current is not None and self.textarea:
            self.current.fields[self.textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def page_forms(path: str, html: str) -> list[PageForm]:
    parser = FormParser(path)
    parser.feed(html)
    return parser.forms


def route_pattern(template: str) -> re.Pattern[str]:
    parts = PARAM_RE.split(template)
    regex = "".join(re.escape(p) if i % 2 == 0 else "[^/]+" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


@dataclass
class Case:
    """One route with one variant: the full page or htmx's fragment."""

    method: str
    template: str
    htmx: bool
    urls: list[str] = field(default_factory=list)  # concrete URLs (real ids first)
    fields: dict[str, list[str]] = field(default_factory=dict)  # what its forms send
    page: bool = False  # a GET that answers a browser with a whole page (not a fragment)


def _encode_pairs(pairs: list[tuple[str, str]]) -> str:
    return "&".join(
        f"{quote(k, safe='', errors='surrogatepass')}={quote(v, safe='', errors='surrogatepass')}"
        for k, v in pairs
    )


def _raw(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def body_for(
    kind: str, pairs: list[tuple[str, str]], *, csrf: str = "", bad_utf8: bool = False
) -> tuple[bytes, str | None]:
    """The request body and its content type for a way of sending the fields (`csrf`, when
    given, goes in the `_csrf` field, itself never mangled)."""
    if csrf:
        pairs = [*pairs, ("_csrf", csrf)]
    if kind == "form":
        return _encode_pairs(pairs).encode("ascii"), "application/x-www-form-urlencoded"
    if kind.startswith("multipart"):
        boundary = uuid.uuid4().hex
        chunks = []
        for index, (name, value) in enumerate(pairs):
            mangle = bad_utf8 and name != "_csrf"
            data = _raw(value) + (b"\xff\xfe\xc3\x28" if mangle and index % 2 == 0 else b"")
            as_file = mangle and index % 3 == 1  # a file where text is expected
            disposition = f'form-data; name="{name}"' + ('; filename="x.csv"' if as_file else "")
            if name == "file":  # an upload field: a file part whose name is the hostile value
                disposition = f'form-data; name="file"; filename="{value[:300]}"'
                data = b"Name,Email\r\nA,a@example.com\r\n" + _raw(value)
            chunks.append(
                f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode(
                    "utf-8", "surrogatepass"
                )
                + data
                + b"\r\n"
            )
        chunks.append(f"--{boundary}--\r\n".encode())
        return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
    if kind == "json":
        body = json.dumps(dict(pairs), ensure_ascii=True).encode()
        return body, "application/json"
    if kind == "text":
        return _raw(" ".join(v for _, v in pairs)[:5000]) + b"\xff", "text/plain"
    return b"", None


def query_url(url: str, pairs: list[tuple[str, str]]) -> str:
    """`url` with `pairs` as its query (each value cut to 2,000 characters: a URL that fits)."""
    base = url.split("?")[0]
    return f"{base}?{_encode_pairs([(k, v[:2000]) for k, v in pairs])}" if pairs else base


FEEDBACK_RE = re.compile(r'class="invalid-feedback"[^>]*>\s*([^<]+?)\s*<')
ALERT_RE = re.compile(r'role="alert"[^>]*>(?:\s*<i [^>]*></i>)?\s*([^<]+?)\s*<')
TITLE_RE = re.compile(r'<h1 class="h4">([^<]+)</h1>\s*(?:<p class="mb-2">([^<]*)</p>)?')
TOAST_RE = re.compile(r'class="toast-body">\s*([^<]+?)\s*<')


def human_message(response: Any) -> str:
    """What a refusal says to the person: inline messages, an alert, the error page's words,
    a toast, or the plain text an htmx request gets."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("application/problem+json"):  # the API's errors (RFC 9457)
        problem = response.json()
        return " ".join(filter(None, [problem.get("detail"), problem.get("title")]))
    if kind.startswith(("text/plain", "application/json")):
        return str(response.text).strip()
    html = str(response.text)
    found = FEEDBACK_RE.findall(html) + ALERT_RE.findall(html) + TOAST_RE.findall(html)
    title = TITLE_RE.search(html)
    if title:
        found += [t for t in title.groups() if t]
    return " ".join(m.strip() for m in found if m.strip())


def path_of(url: str) -> str:
    return urlsplit(url).path
