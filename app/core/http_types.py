"""The request and socket types route modules annotate with (one home for Litestar's generic
parameters, which the app never narrows: user, auth and state are read through our own
helpers)."""

from __future__ import annotations

from typing import Any

from litestar import Request, WebSocket
from litestar.connection import ASGIConnection

Req = Request[Any, Any, Any]
Socket = WebSocket[Any, Any, Any]
Connection = ASGIConnection[Any, Any, Any, Any]
