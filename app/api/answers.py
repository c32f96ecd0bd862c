"""The answers of each API operation in its OpenAPI document: the problem statuses it can
give (with what each means), the ETag of a versioned read, and a create's links to the
operations on the record it made (app/api/conformance.py applies them)."""

from __future__ import annotations

import re
from typing import Any

from app.core.problems import PROBLEM_TYPE

Schema = dict[str, object]
METHODS = ("get", "post", "put", "patch", "delete")


def problems(op: Schema, statuses: list[int]) -> None:
    responses = op.setdefault("responses", {})
    assert isinstance(responses, dict)
    answer = {"content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status in sorted(statuses):
        responses[str(status)] = {"description": STATUS_NOTES.get(status, ""), **answer}


STATUS_NOTES = {
    400: "The body is not JSON (or not UTF-8).",
    401: "No token, or a token expired, revoked or of a member no longer in the workspace.",
    403: "The token's scopes or the member's role don't allow this.",
    404: "No such record in this workspace.",
    409: "Refused by the data as it is now: a stale version, a referenced record not in the"
    " workspace, a change the record's state doesn't allow, or a rule across fields.",
    413: "The body is too large.",
    415: "The body is not application/json.",
    422: "The request breaks this schema (see `errors`).",
    429: "The token's rate limit was reached; retry after Retry-After seconds.",
    500: "A fault of ours.",
    503: "Briefly unavailable; retry after Retry-After seconds.",
}


def etag(op: Schema, schemas: Schema) -> None:
    """A versioned record read answers its version as the ETag header."""
    responses = op.get("responses")
    ok = responses.get("200") if isinstance(responses, dict) else None
    if not isinstance(ok, dict):
        return
    media = (ok.get("content") or {}).get("application/json") or {}
    ref = (media.get("schema") or {}).get("$ref", "")
    component = schemas.get(str(ref).rsplit("/", 1)[-1])
    props = component.get("properties") if isinstance(component, dict) else None
    if isinstance(props, dict) and "version" in props:
        ok["headers"] = {
            "ETag": {
                "required": True,
                "description": 'The record\'s version, quoted ("3"): send it back as If-Match.',
                "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
            }
        }


def links(paths: dict[str, Any]) -> None:
    """A create's 201 links to the operations on the record it made (its `id`), so a client
    or a stateful fuzzer can follow from one to the other."""
    for path, item in paths.items():
        made = item.get("post", {}).get("responses", {}).get("201") if "{" not in path else None
        if not isinstance(made, dict):
            continue
        links: Schema = {}
        for other, record in paths.items():
            found = re.fullmatch(re.escape(path) + r"/\{(\w+)\}(/\w+)?", other)
            if not found or not isinstance(record, dict):
                continue
            for method in METHODS:
                op = record.get(method)
                if isinstance(op, dict) and op.get("operationId"):
                    links[str(op["operationId"])] = {
                        "operationId": op["operationId"],
                        "parameters": {found.group(1): "$response.body#/id"},
                    }
        if links:
            made["links"] = links
