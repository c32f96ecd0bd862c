"""Trusted proxies: the client's address behind a load balancer, believed only from the proxies.

Behind HAProxy every connection comes from the proxy, so rate limits, lockouts, sessions and the
audit log would all see one address. `TRUSTED_PROXIES` lists the proxies (addresses or networks);
only when the connection comes from one of them is `X-Forwarded-For` read, right to left,
skipping the trusted hops: the first address that is not a proxy is the client. A client that
connects directly can send any header it likes and is still seen as its own address.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from litestar.types import ASGIApp, Receive, Scope, Send

from app.settings import get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def trusted_networks(spec: str) -> tuple[Network, ...]:
    """'10.0.0.5, 10.1.0.0/16, ::1' as networks; a bad entry stops the process at start."""
    networks = []
    for item in spec.split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"TRUSTED_PROXIES: {item.strip()!r} is not an address") from exc
    return tuple(networks)


def _is_trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_client(peer: str, forwarded_for: str, networks: Sequence[Network]) -> str:
    """The client's address: `peer`, unless `peer` is a trusted proxy that forwarded one."""
    if not forwarded_for or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop.strip("[]")))
            except ValueError:
                return peer  # garbage where an address should be: keep the proxy's own
    return hops[0] if hops else peer  # every hop is a proxy: the leftmost is the origin


def _header(scope: Scope, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == name]
    return ",".join(values)


def proxy_middleware(app: ASGIApp) -> ASGIApp:
    """Put the real client address (and scheme) into the scope before anything reads it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        networks = trusted_networks(get_settings().trusted_proxies)
        client = scope.get("client")
        kind = str(scope["type"])
        if networks and client and kind in ("http", "websocket"):
            peer = str(client[0])
            if _is_trusted(peer, networks):
                real = forwarded_client(peer, _header(scope, b"x-forwarded-for"), networks)
                scope["client"] = (real, 0)
                proto = _header(scope, b"x-forwarded-proto").split(",")[-1].strip().lower()
                if proto in ("http", "https"):
                    secure = proto == "https"
                    web = kind == "http"
                    scope["scheme"] = (
                        ("https" if secure else "http") if web else ("wss" if secure else "ws")
                    )
        await app(scope, receive, send)

    return middleware
