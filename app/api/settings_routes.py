"""Settings → API tokens: create (the token is shown once), list with last use, revoke (htmx)."""

from __future__ import annotations

from uuid import UUID

from litestar import Response, get, post

from app.accounts.schemas import Current
from app.api import tokens
from app.api.forms import TokenForm
from app.core.errors import FormInvalid
from app.core.forms import read_form
from app.core.http_types import Req
from app.core.web import render

PAGE = "api/tokens.html"


async def _page(
    request: Req,
    current: Current,
    *,
    created: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, object] | None = None,
    status: int = 200,
) -> Response[str]:
    ctx = {
        "tokens": await tokens.list_tokens(current),
        "objects": tokens.OBJECTS,
        "offered": tokens.OFFERED,
        "expiry_days": tokens.EXPIRY_DAYS,
        "created": created,
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, PAGE, ctx, block="tokens", status=status)


@get("/settings/api-tokens")
async def tokens_page(request: Req, current: Current) -> Response[str]:
    return await _page(request, current)


@post("/settings/api-tokens")
async def token_create(request: Req, current: Current) -> Response[str]:
    """Issue a token and show it once (only its keyed hash is kept)."""

    async def refused(exc: FormInvalid) -> Response[str]:
        return await _page(request, current, errors=exc.errors, values=exc.shown(), status=422)

    form = await read_form(request, TokenForm, page=refused)
    raw, _ = await tokens.issue_token(
        current, form.name, form.scopes, int(form.days), form.rate_per_minute or 600
    )
    return await _page(request, current, created=raw)


@post("/settings/api-tokens/{token_id:uuid}/revoke")
async def token_revoke(request: Req, current: Current, token_id: UUID) -> Response[str]:
    await tokens.revoke_token(current, token_id)
    return await _page(request, current)


ROUTES = [tokens_page, token_create, token_revoke]
