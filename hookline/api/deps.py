"""Dependencies: the use-case context and who is calling (operator or platform token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hookline.domain import secrets
from hookline.domain.errors import Unauthorized
from hookline.domain.models import Actor, ApiToken
from hookline.services import platforms
from hookline.services.context import Context

_bearer = HTTPBearer(auto_error=False)


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


Ctx = Annotated[Context, Depends(get_context)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Send the token as 'Authorization: Bearer <token>'.")
    return credentials.credentials


def require_operator(request: Request, credentials: Credentials) -> Actor:
    token = bearer_token(credentials)
    expected: str | None = request.app.state.operator_token
    if not expected:
        raise Unauthorized("Operator routes are disabled: HOOKLINE_OPERATOR_TOKEN is not set.")
    if not secrets.tokens_equal(token, expected):
        raise Unauthorized("The operator token is not valid.")
    return request_actor(request, "operator", "operator")


def require_platform_token(ctx: Ctx, credentials: Credentials) -> ApiToken:
    return platforms.authenticate(ctx, bearer_token(credentials))


def request_actor(request: Request, kind: str, actor_id: str) -> Actor:
    """Who the audit log names for this request: the caller, its address and user agent."""
    return Actor(
        kind=kind,
        id=actor_id,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def platform_actor(
    request: Request, token: Annotated[ApiToken, Depends(require_platform_token)]
) -> Actor:
    return request_actor(request, "platform_token", token.id)


Operator = Annotated[Actor, Depends(require_operator)]
PlatformToken = Annotated[ApiToken, Depends(require_platform_token)]
PlatformActor = Annotated[Actor, Depends(platform_actor)]
