"""TLS for `odex serve`: an SSLContext that refuses anything older than TLS 1.3."""

from __future__ import annotations

import ssl
from collections.abc import Callable

MINIMUM_TLS = ssl.TLSVersion.TLSv1_3


def harden(context: ssl.SSLContext) -> ssl.SSLContext:
    """Raise the floor to TLS 1.3 (so TLS 1.2 and older handshakes fail) and drop compression."""
    context.minimum_version = MINIMUM_TLS
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    return context


def server_context(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A server context for a PEM certificate chain and key, TLS 1.3 minimum."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    return harden(context)


def uvicorn_ssl_factory(
    config: object, default_factory: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    """uvicorn's `ssl_context_factory` hook: its own context (cert, key, ALPN), TLS 1.3 minimum.

    uvicorn's `ssl_version` option only picks the protocol constant; it cannot set a minimum
    version, so the context it builds is hardened here before the server starts listening.
    """
    return harden(default_factory())
