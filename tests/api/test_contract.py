"""API contract tests generated from the OpenAPI document with schemathesis: every operation
gets schema-shaped (and schema-bending) requests with a real token; none may answer 5xx, and
every error is problem details."""

from __future__ import annotations

import os
import time
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from app.api.docs import openapi_document
from tests.api.helpers import api_client, token_for
from tests.helpers import Account

EXAMPLES = int(os.environ.get("ODEX_API_CONTRACT_EXAMPLES", "250"))
SCHEMA = schemathesis.openapi.from_dict(openapi_document())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CASES = st.one_of(  # schema-shaped requests, and requests that break the schema on purpose
    *(op.as_strategy(generation_mode=mode) for op in OPERATIONS for mode in GenerationMode)
)
SENT: dict[str, Any] = {"token": None, "count": 0, "started": None}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(case=CASES)
async def test_generated_requests_never_get_a_server_error(
    app: Any, tenant_a: Account, case: Any
) -> None:
    if SENT["token"] is None:
        SENT["token"] = await token_for(tenant_a, rate=10_000)
        SENT["started"] = time.monotonic()
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    headers = {k: v for k, v in kwargs.pop("headers", {}).items() if k.lower() != "authorization"}
    async with api_client(app, SENT["token"]) as api:
        response = await api.request(headers=headers, **kwargs)
    SENT["count"] += 1
    what = f"{kwargs['method']} {kwargs['url']} -> {response.status_code}\n{response.text[:500]}"
    assert response.status_code < 500, what
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), what
        assert response.json()["status"] == response.status_code, what


def test_every_operation_was_in_the_schema() -> None:
    assert len(OPERATIONS) >= 25  # lists, reads, writes and the move of every resource
