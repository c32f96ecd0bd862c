"""The tests' one stand-in for Stripe: a small local server for the API endpoints Odex calls (no
maintained fake has Checkout or the Customer Portal: customers, checkout sessions, portal
sessions, subscriptions), and the signed webhook events and objects Stripe would send.

The `fake_stripe` fixture (tests/conftest.py) starts it and points the app's settings at it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse
from uuid import UUID

import stripe

WEBHOOK_SECRET = "whsec_test_" + secrets.token_hex(12)
PRICE_PRO = "price_pro_monthly_test"
PRICE_BUSINESS = "price_business_monthly_test"


class FakeStripe:
    """Records every request (method, path, form params, idempotency key) and answers it."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.hang_on: set[str] = set()
        self.hung = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                status, payload = fake.handle(
                    method,
                    urlparse(self.path).path,
                    dict(parse_qsl(body)),
                    self.headers.get("idempotency-key"),
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def do_DELETE(self) -> None:
                self._answer("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeStripe:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method: str, prefix: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(prefix)]

    def set_subscription(self, sub: dict[str, Any]) -> None:
        with self.lock:
            self.subscriptions[sub["id"]] = json.loads(json.dumps(sub))

    @staticmethod
    def _missing(what: str) -> tuple[int, dict[str, Any]]:
        error = {"type": "invalid_request_error", "code": "resource_missing", "message": what}
        return 404, {"error": error}

    def handle(
        self, method: str, path: str, params: dict[str, str], key: str | None
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append(
                {"method": method, "path": path, "params": params, "idempotency_key": key}
            )
            if key and method == "POST" and (path, key) in self.idempotent:
                return self.idempotent[(path, key)]
        parts = path.strip("/").split("/")
        if method == "GET" and parts[:2] == ["v1", "subscriptions"] and len(parts) == 3:
            if parts[2] in self.hang_on:
                self.hung.set()
                self.release.wait(60)
            with self.lock:
                sub = self.subscriptions.get(parts[2])
            return (200, sub) if sub else self._missing("No such subscription")
        if method == "DELETE" and parts[:2] == ["v1", "subscriptions"]:
            with self.lock:
                sub = self.subscriptions.get(parts[2])
                if sub is None:
                    return self._missing("No such subscription")
                sub["status"] = "canceled"
                return 200, sub
        if method == "DELETE" and parts[:2] == ["v1", "customers"]:
            with self.lock:
                if self.customers.pop(parts[2], None) is None:
                    return self._missing("No such customer")
            return 200, {"id": parts[2], "object": "customer", "deleted": True}
        if method == "POST" and path == "/v1/customers":
            customer = {
                "id": "cus_" + secrets.token_hex(7),
                "object": "customer",
                "email": params.get("email"),
                "metadata": {"tenant_id": params.get("metadata[tenant_id]")},
            }
            result: tuple[int, dict[str, Any]] = (200, customer)
            with self.lock:
                self.customers[customer["id"]] = customer
        elif method == "POST" and path == "/v1/checkout/sessions":
            sid = "cs_test_" + secrets.token_hex(8)
            result = (
                200,
                {
                    "id": sid,
                    "object": "checkout.session",
                    "url": f"https://checkout.stripe.test/c/pay/{sid}",
                },
            )
        elif method == "POST" and path == "/v1/billing_portal/sessions":
            sid = "bps_" + secrets.token_hex(8)
            result = (
                200,
                {
                    "id": sid,
                    "object": "billing_portal.session",
                    "url": f"https://billing.stripe.test/p/session/{sid}",
                },
            )
        else:
            return self._missing(f"{method} {path} is not faked")
        if key:
            with self.lock:
                self.idempotent[(path, key)] = result
        return result


def signed(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header, computed by the SDK's own scheme."""
    return str(stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp))


def event(kind: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    return {
        "id": "evt_" + secrets.token_hex(10),
        "object": "event",
        "type": kind,
        "created": created or int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


async def deliver(client: Any, evt: dict[str, Any], secret: str = WEBHOOK_SECRET) -> Any:
    payload = json.dumps(evt)
    return await client.post(
        "/billing/webhook",
        content=payload.encode(),
        headers={"Stripe-Signature": signed(payload, secret), "Content-Type": "application/json"},
    )


def subscription(
    sub_id: str,
    customer: str,
    tenant_id: UUID,
    *,
    price: str = PRICE_PRO,
    status: str = "active",
    created: int | None = None,
    trial_end: int | None = None,
    cancel_at_period_end: bool = False,
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "created": created or now,
        "cancel_at_period_end": cancel_at_period_end,
        "trial_end": trial_end,
        "metadata": {"tenant_id": str(tenant_id)},
        "items": {
            "object": "list",
            "data": [{"price": {"id": price}, "current_period_end": now + 30 * 86400}],
        },
    }


def invoice(
    sub: dict[str, Any], cents: int, status: str, inv_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": inv_id or "in_" + secrets.token_hex(8),
        "object": "invoice",
        "customer": sub["customer"],
        "subscription": sub["id"],
        "number": "INV-" + secrets.token_hex(3).upper(),
        "status": status,
        "amount_due": cents,
        "amount_paid": cents if status == "paid" else 0,
        "currency": "usd",
        "hosted_invoice_url": "https://invoice.stripe.test/i/x",
        "created": int(time.time()),
    }


def session_completed(sub: dict[str, Any], tenant_id: UUID) -> dict[str, Any]:
    return {
        "id": "cs_test_" + secrets.token_hex(8),
        "object": "checkout.session",
        "mode": "subscription",
        "customer": sub["customer"],
        "subscription": sub["id"],
        "client_reference_id": str(tenant_id),
        "metadata": {"tenant_id": str(tenant_id)},
    }
