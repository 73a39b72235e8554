"""Dependencies: the use-case context and who is calling (operator or platform token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hookline.domain import secrets
from hookline.domain.errors import Unauthorized
from hookline.domain.models import Actor, ApiToken
from hookline.http.deps import Ctx, WiringDep, request_actor
from hookline.services import platforms

__all__ = [
    "Credentials",
    "Ctx",
    "Operator",
    "PlatformActor",
    "PlatformToken",
    "bearer_token",
]

_bearer = HTTPBearer(auto_error=False)

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Send the token as 'Authorization: Bearer <token>'.")
    return credentials.credentials


def require_operator(request: Request, wiring: WiringDep, credentials: Credentials) -> Actor:
    token = bearer_token(credentials)
    expected = wiring.operator_token
    if not expected:
        raise Unauthorized("Operator routes are disabled: HOOKLINE_OPERATOR_TOKEN is not set.")
    if not secrets.tokens_equal(token, expected):
        raise Unauthorized("The operator token is not valid.")
    return request_actor(request, "operator", "operator")


def require_platform_token(ctx: Ctx, credentials: Credentials) -> ApiToken:
    return platforms.authenticate(ctx, bearer_token(credentials))


def platform_actor(
    request: Request, token: Annotated[ApiToken, Depends(require_platform_token)]
) -> Actor:
    return request_actor(request, "platform_token", token.id)


Operator = Annotated[Actor, Depends(require_operator)]
PlatformToken = Annotated[ApiToken, Depends(require_platform_token)]
PlatformActor = Annotated[Actor, Depends(platform_actor)]
