"""Bad input never produces HTTP 500: every route, signed in, with missing, malformed, huge
and foreign values (a foreign tenant's ids must be 403/404, never a crash)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.core.db import tenant_transaction
from tests.api.helpers import token_for
from tests.conftest import unique_email
from tests.core import fuzz
from tests.helpers import Account, BrowserClient, make_account

SKIP = ("/static", "/ws", "/billing/webhook")  # files, the socket, Stripe's signed endpoint
HOSTILE_FORMS: list[dict[str, str]] = [
    {},
    {"name": "x" * 100_000, "email": "@@", "title": "\x00", "amount": "-1e309", "q": "%_\\"},
    {"id": "not-a-uuid", "version": "NaN", "due_date": "2026-13-45", "role": "root"},
]


def _concrete(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


async def test_no_route_answers_500(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    foreign = str(tenant_b.tenant_id)
    problems: list[str] = []
    checked = 0

    async def send(method: str, url: str, **kwargs: Any) -> Any:
        """One request as the signed-in owner (signing in again if a route signed us out)."""
        nonlocal checked
        response = await client_a.request(method, url, **kwargs)
        if response.headers.get("location", "").startswith("/login"):
            client_a.cookies.clear()
            await client_a.login(tenant_a.email, tenant_a.password)
            kwargs.get("headers", {}).update({"X-CSRF-Token": client_a.csrf})
            response = await client_a.request(method, url, **kwargs)
        checked += 1
        return response

    for route in app.routes:
        path = route.path
        if path.startswith(SKIP):
            continue
        methods = set(getattr(route, "methods", set())) - {"HEAD", "OPTIONS"}
        for value in ("1", "not-a-number", str(uuid.uuid4()), foreign):
            url = _concrete(path, value)
            if "GET" in methods:
                for params in ({}, {"q": "'; drop table x;--", "sort": "zz", "after": "%%%"}):
                    response = await send("GET", url, params=params)
                    if response.status_code >= 500:
                        problems.append(f"GET {url} {params} -> {response.status_code}")
            for method in methods - {"GET"}:
                for form in HOSTILE_FORMS:
                    headers = {"X-CSRF-Token": client_a.csrf}
                    response = await send(method, url, data=form, headers=headers)
                    if response.status_code >= 500:
                        problems.append(f"{method} {url} {list(form)} -> {response.status_code}")
            if "{" not in path:
                break
    assert checked > 300  # the walk really covered the app
    assert not problems, "\n".join(problems)


async def test_no_route_answers_500_to_a_visitor(app: Any, client: Any, tenant_b: Account) -> None:
    """The same walk without signing in: login pages, redirects or 403/404, never a crash."""
    await client.refresh_csrf("/login")
    problems: list[str] = []
    for route in app.routes:
        if route.path.startswith(SKIP):
            continue
        methods = set(getattr(route, "methods", set())) - {"HEAD", "OPTIONS"}
        for value in ("1", "x" * 300, str(tenant_b.tenant_id)):
            url = _concrete(route.path, value)
            for method in methods:
                for form in HOSTILE_FORMS[:2]:
                    response = await client.request(
                        method,
                        url,
                        data=form if method != "GET" else None,
                        headers={"X-CSRF-Token": client.csrf},
                    )
                    if response.status_code >= 500:
                        problems.append(f"{method} {url} -> {response.status_code}")
            if "{" not in route.path:
                break
    assert not problems, "\n".join(problems)


# ---- the generated sweep: every route x {page, htmx} x hostile values (hypothesis) ----------

FUZZ_EXAMPLES = int(os.environ.get("ODEX_FUZZ_EXAMPLES", "2"))  # sweeps; `make fuzz`: more
SHARDS = 8
FUZZ_IP = "198.51.100.77"  # its own address, so its rate-limit counters are its own
CSRF_EXEMPT = ("/billing/webhook", "/api/")  # Stripe's signature; the API's bearer token
RECORD_QUERIES = {  # path parameter -> a record of workspace A to aim at
    "note_id": "select id from notes",
    "task_id": "select id from tasks",
    "pipeline_id": "select id from pipelines",
    "stage_id": "select id from stages order by position desc",
    "invitation_id": "select id from invitations",
    "membership_id": "select id from memberships",
    "export_id": "select id from exports",
    "alert_id": "select id from security_alerts",
    "notification_id": "select id from notifications",
    "attachment_id": "select id from attachments",
}


class World:
    """The signed-in owner's client, the records to aim at, and the cases to send."""

    def __init__(
        self, client: Any, account: Account, cases: list[fuzz.Case], names: list[str]
    ) -> None:
        self.client, self.account, self.cases = client, account, cases
        self.names = names  # every field name the pages render (for routes without a form)
        self.sent = 0
        self.token = ""  # the owner's API token, sent to /api/v1 (which never reads cookies)

    def __repr__(self) -> str:  # hypothesis prints it with a failure
        return f"World({len(self.cases)} cases, {self.sent} requests sent)"


async def _seed(client: Any, tenant_a: Account) -> dict[str, str]:
    """One record of each kind in workspace A, their ids by path parameter name."""
    from tests.crm.test_import import import_id_of, upload
    from tests.crm.test_records import make_company, make_contact
    from tests.deals.helpers import make_deal
    from tests.invoices.test_invoices import make_invoice

    company = await make_company(client, "Fuzz Co")
    contact = await make_contact(client, "Fuzz", "Person", company_id=company)
    deal = await make_deal(tenant_a, "Fuzz deal")
    invoice = await make_invoice(client, company, ("Work", "1", "10", "0"))
    await client.post_form(f"/records/contact/{contact}/notes", {"body": "A note"})
    await client.post(
        f"/records/contact/{contact}/attachments",
        files={"file": ("fuzz.txt", b"A file\n", "text/plain")},
        headers={"X-CSRF-Token": client.csrf},
    )
    await client.post_form(f"/records/deal/{deal}/tasks", {"title": "A task"})
    await client.post_form("/settings/team/invite", {"email": unique_email("f"), "role": "admin"})
    await client.post_form("/settings/export", {})
    imported = import_id_of(await upload(client, b"Name,Email\nAda Lovelace,ada@example.com\n"))
    ids = {
        "contact_id": contact,
        "company_id": company,
        "deal_id": str(deal),
        "invoice_id": invoice,
        "import_id": imported,
        "tenant_id": str(tenant_a.tenant_id),
        "subject_type": "contact",
        "subject_id": contact,
        "ticket_id": "1",
        "session_id": "not-a-session",
    }
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        for name, sql in RECORD_QUERIES.items():
            ids[name] = str(await conn.fetchval(sql + " limit 1") or uuid.uuid4())
    return ids


def _url(template: str, ids: dict[str, str]) -> str:
    return fuzz.PARAM_RE.sub(lambda m: ids.get(m.group(1), str(uuid.uuid4())), template)


async def _discover(
    app: Any, client: Any, ids: dict[str, str]
) -> tuple[list[fuzz.Case], list[str]]:
    """Every route x {page, htmx}, with the forms the GET pages really render aimed at it."""
    routes = []
    for route in app.routes:
        if route.path.startswith(fuzz.SKIP):
            continue
        for method in sorted(set(getattr(route, "methods", ())) - {"HEAD", "OPTIONS"}):
            routes.append((method, route.path))
    forms: list[fuzz.PageForm] = []
    pages: set[str] = set()
    for method, template in routes:
        if method == "GET":
            url = _url(template, ids)
            response = await client.get(url)
            if response.headers.get("content-type", "").startswith("text/html"):
                forms += fuzz.page_forms(url, response.text)
                if "<html" in response.text:
                    pages.add(template)
    names = sorted({n for f in forms for n in f.fields if n != "_csrf"})
    cases = []
    for method, template in routes:
        pattern = fuzz.route_pattern(template)
        mine = [f for f in forms if f.method == method and pattern.match(fuzz.path_of(f.action))]
        fields: dict[str, list[str]] = {}
        for form in mine:
            for name, values in form.fields.items():
                fields.setdefault(name, values)
        fields.pop("_csrf", None)
        urls = [f.action for f in mine if "{" not in f.action] + [_url(template, ids)]
        urls = list(dict.fromkeys(urls))
        for htmx in (False, True):
            page = method == "GET" and template in pages
            cases.append(fuzz.Case(method, template, htmx, urls, fields, page))
    return cases, names


async def _sign_in_again(client: Any, account: Account) -> None:
    """After a route signed the owner out (logout, a revoked session): in again, with the
    sweep's own rate-limit counters cleared (its failed logins are the point)."""
    from app.core.redis import redis

    keys = [key async for key in redis().scan_iter("rl:*")]
    if keys:
        await redis().delete(*keys)
    client.cookies.clear()
    await client.login(account.email, account.password)


@pytest.fixture(scope="module")
async def world(app: Any) -> AsyncIterator[World]:
    """Workspace A (with B beside it) seeded with one record of each kind, its owner signed
    in from the sweep's own address; shared by the shards of the sweep."""
    await make_account("B")  # another workspace's data is always there
    owner = await make_account("A")
    transport = httpx.ASGITransport(app=app, client=(FUZZ_IP, 4711))
    async with BrowserClient(transport=transport, base_url="http://testserver") as client:
        await client.login(owner.email, owner.password)
        ids = await _seed(client, owner)
        cases, names = await _discover(app, client, ids)
        world = World(client, owner, cases, names)
        world.token = await token_for(owner, rate=10_000)
        yield world
        await _sign_in_again(client, owner)  # and leave no rate-limit counters behind


def _draw_request(data: Any, world: World, case: fuzz.Case) -> dict[str, Any]:
    """The hostile request for one case: mutated fields, a way to encode them, a CSRF token."""
    fields = dict(case.fields)
    if not fields or data.draw(st.booleans()):
        extra = data.draw(st.lists(st.sampled_from(world.names or ["name"]), max_size=3))
        fields.update({n: [""] for n in extra})
    pairs: list[tuple[str, str]] = []
    for name, values in fields.items():
        how = data.draw(st.sampled_from(fuzz.MUTATIONS), label=name)
        if how == "keep":
            pairs += [(name, v) for v in values or [""]]
        elif how == "hostile":
            pairs.append((name, data.draw(fuzz.hostile, label=name)))
        elif how == "repeat":
            pairs += [(name, data.draw(fuzz.hostile)), (name, (values or [""])[0])]
    url = data.draw(st.sampled_from(case.urls), label="url")
    headers: dict[str, Any] = {}
    if case.template.startswith("/api/v1/"):
        headers["Authorization"] = f"Bearer {world.token}"
    if case.htmx:
        headers["HX-Request"] = "true"
        if case.method == "GET" and data.draw(st.booleans(), label="history restore"):
            headers["HX-History-Restore-Request"] = "true"
    if case.method == "GET":
        names = data.draw(st.lists(st.sampled_from(fuzz.QUERY_NAMES), max_size=3))
        pairs += [(n, data.draw(fuzz.hostile, label=n)) for n in names]
        return {"method": "GET", "url": fuzz.query_url(url, pairs), "headers": headers}
    csrf = data.draw(st.sampled_from(fuzz.CSRF_WAYS), label="csrf")
    kind = data.draw(st.sampled_from(fuzz.BODIES), label="body")
    token = {"header": "", "field": world.client.csrf, "missing": ""}.get(csrf, "é")
    if csrf == "header":
        headers["X-CSRF-Token"] = world.client.csrf
    elif csrf == "non-ascii-header":
        headers["X-CSRF-Token"] = "é".encode()
    body, content_type = fuzz.body_for(
        kind, pairs, csrf=token if csrf.endswith("field") else "", bad_utf8="bad" in kind
    )
    if content_type:
        headers["Content-Type"] = content_type
    # no usable token: missing, non-ASCII, or a field in a body that isn't a form (with bad
    # UTF-8 in a multipart body the token may or may not be readable: either answer is fine)
    forged = csrf not in ("header", "field") or (
        csrf == "field" and not kind.startswith(("form", "multipart"))
    )
    return {
        "method": case.method,
        "url": url,
        "headers": headers,
        "content": body,
        "forged": forged,
    }


@pytest.mark.parametrize("shard", range(SHARDS))
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.generate],  # an example is a sweep of the shard: shrinking it is moot
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
async def test_generated_hostile_input_never_reaches_a_500(
    world: World, shard: int, data: Any
) -> None:
    """Every route, as a page and as htmx, gets hypothesis-generated hostile values (NUL and
    control characters, lone surrogates, invalid UTF-8 in multipart, 100k characters, RTL,
    emoji, combining marks, out-of-range numbers, NaN, bad dates, repeated and missing fields,
    wrong content types, a non-ASCII CSRF token): never a 5xx, and every 4xx says what to fix.

    The cases are split into SHARDS so that one example (a sweep of its shard) stays within
    what hypothesis can draw for one example."""
    client = world.client
    assert len(world.cases) > 200  # the sweep really covers the app
    for case in world.cases[shard::SHARDS]:
        request = _draw_request(data, world, case)
        forged = request.pop("forged", False)
        response = await client.request(**request)
        if response.headers.get("location", "").startswith("/login") or response.headers.get(
            "hx-redirect", ""
        ).startswith("/login"):
            await _sign_in_again(client, world.account)
        world.sent += 1
        what = f"{request['method']} {request['url'][:200]} {case.htmx=} -> {response.status_code}"
        assert response.status_code < 500, what + "\n" + response.text[:500]
        assert "hx-request" in response.headers.get("vary", "").lower(), what
        if forged and not case.template.startswith(CSRF_EXEMPT):
            assert response.status_code in (403, 413), what  # never the action itself
        if 400 <= response.status_code < 500:
            assert fuzz.human_message(response), what + " says nothing:\n" + response.text[:800]
        page = response.headers.get("content-type", "").startswith("text/html")
        restore = request["headers"].get("HX-History-Restore-Request") == "true"
        if restore and page and case.page and response.status_code == 200:  # Back, cache miss
            assert "<html" in response.text, what + " (history restore needs the whole page)"
