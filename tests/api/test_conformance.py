"""The API conforms to its own OpenAPI document under schemathesis' strict checks, as an outside
fuzzer (`st run --checks all`) would see it: documented status codes and content types,
responses matching their schemas, schema-breaking requests refused (4xx) and schema-valid ones
accepted (2xx, or 404/409 when the data says no), OPTIONS and 405 naming the right methods.

Generated requests go to workspace A with a token of its owner; path ids are drawn from random
ones, A's own records and B's (which must stay 404 and untouched)."""

from __future__ import annotations

import os
import re
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation

from app.api.docs import openapi_document
from app.core.db import tenant_transaction
from tests.api.helpers import api_client, is_problem, token_for
from tests.helpers import Account

EXAMPLES = int(os.environ.get("ODEX_API_CONFORMANCE_EXAMPLES", "150"))
DOCUMENT: Any = openapi_document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CASES = st.one_of(
    *(op.as_strategy(generation_mode=mode) for op in OPERATIONS for mode in GenerationMode)
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]
STATE: dict[str, Any] = {"token": None, "b_token": None, "ids": {}, "b_ids": {}}
RECORD = {
    "contact_id": ("/api/v1/contacts", {"first_name": "Ada", "last_name": "Conform"}),
    "company_id": ("/api/v1/companies", {"name": "Conform Ltd"}),
}


async def _records(api: Any) -> dict[str, str]:
    """One record of each kind the generated paths can name (their ids by path parameter)."""
    ids: dict[str, str] = {}
    for param, (path, body) in RECORD.items():
        made = await api.post(path, json=body)
        assert made.status_code == 201, made.text
        ids[param] = made.json()["id"]
    stage = (await api.get("/api/v1/pipelines")).json()["data"][0]["stages"][0]["id"]
    deal = await api.post("/api/v1/deals", json={"title": "Conform deal", "stage_id": stage})
    ids["deal_id"] = deal.json()["id"]
    ids["pipeline_id"] = (await api.get("/api/v1/pipelines")).json()["data"][0]["id"]
    on = {"subject_type": "company", "subject_id": ids["company_id"]}
    task = await api.post("/api/v1/tasks", json={**on, "title": "Call"})
    ids["task_id"] = task.json()["id"]
    note = await api.post("/api/v1/notes", json={**on, "body": "Hello"})
    ids["note_id"] = note.json()["id"]
    line = {"description": "Work", "unit_price": "10.00"}
    invoice = await api.post(
        "/api/v1/invoices",
        json={"company_id": ids["company_id"], "due_date": "2031-01-31", "lines": [line]},
    )
    assert invoice.status_code == 201, invoice.text
    ids["invoice_id"] = invoice.json()["id"]
    return ids


async def _setup(app: Any, tenant_a: Account, tenant_b: Account) -> None:
    if STATE["token"] is not None:
        return
    STATE["token"] = await token_for(tenant_a, rate=10_000)
    async with api_client(app, STATE["token"]) as api:
        STATE["ids"] = await _records(api)
    STATE["b_token"] = await token_for(tenant_b, rate=10_000)
    async with api_client(app, STATE["b_token"]) as api:
        STATE["b_ids"] = await _records(api)


def _positive(case: Any, location: str) -> bool:
    """The case's `location` (path, header…) was generated to fit the schema (so the test may
    swap in real ids or the real token without making a schema-breaking case valid)."""
    info = case.meta.components.get(ParameterLocation(location)) if case.meta else None
    return info is None or info.mode == GenerationMode.POSITIVE


async def _b_untouched(app: Any, what: str) -> None:
    """Workspace B's records are as they were made (no write through A's token reached them)."""
    async with api_client(app, STATE["b_token"]) as api:
        for param in ("contact_id", "deal_id", "invoice_id"):
            kind = param.removesuffix("_id") + "s"
            got = await api.get(f"/api/v1/{kind}/{STATE['b_ids'][param]}")
            assert got.status_code == 200 and got.json()["version"] == 1, what


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(case=CASES, pick=st.sampled_from(["generated", "a", "a", "b"]))
async def test_generated_requests_conform_to_the_schema(
    app: Any, tenant_a: Account, tenant_b: Account, case: Any, pick: str
) -> None:
    await _setup(app, tenant_a, tenant_b)
    if pick != "generated" and case.path_parameters and _positive(case, "path"):
        ids = STATE["ids"] if pick == "a" else STATE["b_ids"]
        for name in list(case.path_parameters):
            if name in ids:
                case.path_parameters[name] = ids[name]
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    sent = kwargs.pop("headers", {})
    headers = {k: v for k, v in sent.items() if k.lower() != "authorization"}
    # a generated Authorization becomes the real token; one left out or broken on purpose (a
    # negative case) stays as generated
    token = STATE["token"] if len(headers) < len(sent) else None
    if not _positive(case, "header"):
        token, headers = None, sent
    async with api_client(app, token) as api:
        response = await api.request(headers=headers, **kwargs)
    what = f"{kwargs['method']} {kwargs['url']} -> {response.status_code}\n{response.text[:500]}"
    if pick == "b" and case.path_parameters:
        assert response.status_code >= 400, f"another workspace's record answered: {what}"
        if kwargs["method"] != "GET":
            await _b_untouched(app, what)
    case.validate_response(response, checks=CHECKS, headers=dict(api.headers))
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), what
        assert response.json()["status"] == response.status_code, what


def _template(path: str, ids: dict[str, str]) -> str:
    return re.sub(
        r"\{(\w+)\}", lambda m: ids.get(m.group(1), "0" * 8 + "-0000-4000-8000-" + "0" * 12), path
    )


async def test_options_and_405_name_exactly_the_documented_methods(
    app: Any, tenant_a: Account
) -> None:
    paths = DOCUMENT["paths"]
    async with api_client(app, await token_for(tenant_a)) as api:
        for path, item in paths.items():
            methods = {m.upper() for m in item if m in ("get", "post", "put", "patch", "delete")}
            url = _template(path, {})
            options = await api.options(url)
            assert options.status_code == 204, (path, options.text)
            allowed = {m.strip() for m in options.headers["allow"].split(",")}
            assert allowed == methods | {"OPTIONS"}, (path, allowed)
            missing = next(m for m in ("PUT", "PATCH", "DELETE", "POST") if m not in methods)
            refused = await api.request(missing, url)
            assert refused.status_code == 405, (path, missing, refused.status_code)
            assert refused.headers["content-type"].startswith("application/problem+json")
            named = {m.strip() for m in refused.headers["allow"].split(",")}
            assert named - {"OPTIONS", "HEAD"} == methods, (path, named)


def test_the_schema_carries_the_forms_rules() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    company = schemas["CompanyNew"]
    assert company["required"] == ["name"] and company["additionalProperties"] is False
    name = company["properties"]["name"]["oneOf"][0]
    assert name["maxLength"] == 200 and "pattern" in name
    assert "version" in schemas["ContactChange"]["required"]
    currency = schemas["DealIn"]["properties"]["currency"]["oneOf"][0]
    assert "EUR" in currency["enum"]
    delete = DOCUMENT["paths"]["/api/v1/contacts/{contact_id}"]["delete"]
    assert set(delete["responses"]) >= {"204", "401", "403", "404", "409", "422", "429"}
    assert "If-Match" in delete["description"]


async def test_a_refusal_written_for_the_pages_is_a_plain_409(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """The plan's record limit (a message with a link to billing, for the pages) reaches an API
    client as a 409 problem in plain text, not a 500; B is not limited by A's records."""
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "insert into companies (id, tenant_id, name)"
            " select gen_random_uuid(), $1, 'Filler ' || g from generate_series(1, 500) g",
            tenant_a.tenant_id,
        )
    async with api_client(app, await token_for(tenant_a)) as api:
        full = await api.post("/api/v1/contacts", json={"first_name": "One", "last_name": "More"})
    body = is_problem(full, 409)
    assert "plan holds 500" in body["detail"] and "<a" not in body["detail"]
    async with api_client(app, await token_for(tenant_b)) as api:
        fine = await api.post("/api/v1/contacts", json={"first_name": "Bea"})
    assert fine.status_code == 201, fine.text
