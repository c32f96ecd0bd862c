"""The request and socket types route modules annotate with (one home for Litestar's generic
parameters, which the app never narrows: user, auth and state are read through our own
helpers)."""

from __future__ import annotations

from typing import Any

from litestar import Request, WebSocket
from litestar.connection import ASGIConnection
from litestar.datastructures import State

Req = Request[object, object, State]
Socket = WebSocket[object, object, State]
# any route handler: a guard's connection is a Request's or a WebSocket's
Connection = ASGIConnection[Any, object, object, State]
