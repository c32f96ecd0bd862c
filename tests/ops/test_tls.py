"""`odex serve --certfile --keyfile`: HTTPS and wss:// with TLS 1.3 as the minimum."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect

from app.core.embedded import free_port
from tests.helpers import CSRF_RE, Account

ROOT = Path(__file__).resolve().parents[2]


def make_self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 / localhost and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def client_context(cert: Path, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A verifying client context that trusts the test certificate, optionally one version."""
    context = ssl.create_default_context(cafile=str(cert))
    if version is not None:
        context.minimum_version = version
        context.maximum_version = version
    return context


@pytest.fixture(scope="module")
def tls_server(services: dict[str, str], tmp_path_factory: Any) -> Iterator[tuple[int, Path]]:
    """The real `odex serve` with a generated certificate, as a subprocess on a free port."""
    cert, key = make_self_signed(tmp_path_factory.mktemp("tls"))
    port = free_port()
    cmd = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--certfile", str(cert), "--keyfile", str(key)],
        cwd=ROOT,
        env={**os.environ, **services},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                response = httpx.get(
                    f"https://127.0.0.1:{port}/healthz", verify=client_context(cert), timeout=2
                )
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                if proc.poll() is None:  # out of time: stop it first (reading waits for its end)
                    proc.kill()
                    proc.wait(10)
                stderr = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"odex serve did not start with TLS:\n{stderr[-2000:]}")
            time.sleep(0.1)
        yield port, cert
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def handshake(port: int, context: ssl.SSLContext) -> str | None:
    """Complete a TLS handshake with the server and return the negotiated version."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return tls.version()


def test_tls_12_handshake_is_refused(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    with pytest.raises(ssl.SSLError):
        handshake(port, client_context(cert, ssl.TLSVersion.TLSv1_2))


def test_tls_13_handshake_works_and_serves_pages(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    assert handshake(port, client_context(cert, ssl.TLSVersion.TLSv1_3)) == "TLSv1.3"
    # a default client (TLS 1.2 .. 1.3) negotiates 1.3 and gets the login page
    response = httpx.get(f"https://127.0.0.1:{port}/login", verify=client_context(cert))
    assert response.status_code == 200
    assert "Log in to Odex" in response.text


async def test_wss_websocket_reaches_the_app_over_tls(
    tls_server: tuple[int, Path], tenant_a: Account
) -> None:
    port, cert = tls_server
    base = f"https://127.0.0.1:{port}"
    context = client_context(cert, ssl.TLSVersion.TLSv1_3)
    async with httpx.AsyncClient(base_url=base, verify=context) as browser:
        page = await browser.get("/login")
        match = CSRF_RE.search(page.text)
        assert match
        login = await browser.post(
            "/login",
            data={"email": tenant_a.email, "password": tenant_a.password, "_csrf": match.group(1)},
        )
        assert login.status_code == 303
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    headers = {"Cookie": cookie, "Origin": base}
    # the app accepts the upgrade only for a signed-in session from an allowed origin
    async with connect(f"wss://127.0.0.1:{port}/ws", ssl=context, additional_headers=headers) as ws:
        assert ws.protocol.state.name == "OPEN"
        assert re.match(r"TLSv1\.3", ws.transport.get_extra_info("ssl_object").version())
