"""One webhook POST, safe against server-side request forgery.

The address's name is resolved once; every address it resolves to must be public (not private,
loopback, link-local, multicast, reserved or otherwise special) unless local targets are
allowed (dev and the tests); the connection then goes to that checked address, with the name
as Host header and TLS server name (SNI, certificate check), so a second DNS answer can't
point the request somewhere else (DNS rebinding). Only https outside dev and the tests. The
connect has 5 s, the whole exchange 10 s; redirects are not followed (a 3xx is a failure) and
only the start of the response is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

CONNECT_SECONDS = 5.0
TOTAL_SECONDS = 10.0
EXCERPT_BYTES = 1024
MAX_HEAD_BYTES = 16 * 1024
USER_AGENT = "Odex-Webhooks/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The address may not be called: says why, for people."""


@dataclass(frozen=True)
class Target:
    """A checked address: where to connect (`address`) and what to call it (`host`)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: an HTTP status (None when there was no answer), how long it
    took, the start of the answer, why it failed, and the address it connected to."""

    status: int | None
    latency_ms: int
    excerpt: str = ""
    error: str = ""
    address: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def is_public(ip: IPAddress) -> bool:
    """True for an address on the public internet (what a webhook may call in production)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
    )


def parse_url(url: str, *, allow_local: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a webhook address, or TargetRefused."""
    if not url.isascii():
        raise TargetRefused(
            "Use an address in plain ASCII: percent-encode other characters, and write an"
            " international domain name in its xn-- form."
        )
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("Enter a full address such as https://example.com/hooks.") from exc
    schemes = ("https", "http") if allow_local else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused("Use an https:// address.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused("Enter a full address such as https://example.com/hooks.")
    if parts.username or parts.password:
        raise TargetRefused("Leave the user name and password out of the address.")
    if any(ch in url for ch in "\r\n\t "):
        raise TargetRefused("The address can't contain spaces or line breaks.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


async def resolve(url: str, *, allow_local: bool) -> Target:
    """Check `url` and resolve its name once: the Target to connect to, or TargetRefused."""
    scheme, host, port, path = parse_url(url, allow_local=allow_local)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
                ),
                CONNECT_SECONDS,
            )
        except (OSError, TimeoutError) as exc:
            raise TargetRefused(f"The name {host} could not be resolved.") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"The name {host} could not be resolved.")
    if not allow_local:
        for ip in addresses:
            if not is_public(ip):
                raise TargetRefused(
                    f"{host} points to a private or reserved address ({ip}); webhooks only go"
                    " to public internet addresses."
                )
    return Target(scheme, host, port, path, str(addresses[0]))


def _host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    name = f"[{target.host}]" if ":" in target.host else target.host
    return name if target.port == default else f"{name}:{target.port}"


def _request(target: Target, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {target.path} HTTP/1.1",
        f"Host: {_host_header(target)}",
        f"User-Agent: {USER_AGENT}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def _status(head: bytes) -> int:
    parts = head.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ValueError("not an HTTP response")
    return int(parts[1])


async def _exchange(target: Target, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    context = ssl.create_default_context() if target.scheme == "https" else None
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(
            target.address,
            target.port,
            ssl=context,
            server_hostname=target.host if context else None,
        ),
        CONNECT_SECONDS,
    )
    try:
        writer.write(_request(target, body, headers))
        await writer.drain()
        head = b""
        while b"\r\n\r\n" not in head and len(head) < MAX_HEAD_BYTES:
            chunk = await reader.read(4096)
            if not chunk:
                break
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        status = _status(head)
        while len(rest) < EXCERPT_BYTES:
            chunk = await reader.read(EXCERPT_BYTES)
            if not chunk:
                break
            rest += chunk
        return status, rest[:EXCERPT_BYTES]
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), 1)


async def post(url: str, body: bytes, headers: dict[str, str], *, allow_local: bool) -> Outcome:
    """Check and resolve `url`, then POST `body` to the address it resolved to, once; never
    raises for the target's faults (the Outcome says)."""
    started = time.monotonic()
    try:
        target = await resolve(url, allow_local=allow_local)
    except TargetRefused as exc:
        return Outcome(None, int((time.monotonic() - started) * 1000), error=str(exc))
    return await send(target, body, headers)


async def send(target: Target, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST to a checked Target: connect to its address, name it by its host."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        async with asyncio.timeout(TOTAL_SECONDS):
            status, excerpt = await _exchange(target, body, headers)
    except TimeoutError:
        return Outcome(None, took(), error="timed out", address=target.address)
    except (OSError, ssl.SSLError, ValueError, asyncio.IncompleteReadError) as exc:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        return Outcome(None, took(), error=reason, address=target.address)
    text = excerpt.decode("utf-8", errors="replace")
    error = "" if 200 <= status < 300 else f"HTTP {status}"
    if 300 <= status < 400:
        error = f"HTTP {status}: redirects are not followed"
    return Outcome(status, took(), text, error, target.address)
