"""What every dashboard request shares: language, signed-in user, CSRF token, rendering.

Sessions are a random token in an HttpOnly cookie; the server keeps only its hash
(services.users). Every state-changing request must send back a CSRF token derived
from that session (or, on the login form, from a pre-session cookie) in the form or
the ``X-CSRF-Token`` header htmx adds; ``hookline.web.csrf`` says why a planted cookie
is useless. Pages carry a strict Content-Security-Policy: every script and style
comes from this server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hookline.catalog import TOPICS
from hookline.domain import response_headers
from hookline.domain.errors import FieldError, HooklineError
from hookline.domain.models import DEFAULT_TIMEZONE, Actor, User, Webhook
from hookline.http.deps import get_context, get_wiring, request_actor
from hookline.services import users
from hookline.services.context import Context
from hookline.web.csrf import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    binding_of,
    cookie_name,
    is_secure,
    read_cookie,
    sent_by_another_origin,
    token_matches,
)
from hookline.web.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, negotiate

LANG_COOKIE = "hookline_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def framed_headers(frame_ancestors: tuple[str, ...]) -> dict[str, str]:
    """The page headers; with origins allowed to frame, no ``X-Frame-Options`` (it has no
    way to name them) and ``frame-ancestors`` lists them instead of ``'none'``."""
    if not frame_ancestors:
        return SECURITY_HEADERS
    headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "X-Frame-Options"}
    headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
        "frame-ancestors 'none'", "frame-ancestors " + " ".join(frame_ancestors)
    )
    return headers


def partition_last_cookie(response: Response) -> None:
    """Add ``Partitioned`` (CHIPS) to the cookie just set: Python's cookie writer knows
    the attribute only from 3.14 on, so Starlette refuses it before that."""
    for i in range(len(response.raw_headers) - 1, -1, -1):
        name, value = response.raw_headers[i]
        if name == b"set-cookie":
            response.raw_headers[i] = (name, value + b"; Partitioned")
            return


templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def zones_of(webhook: Webhook) -> list[int]:
    """The zones a webhook's topics belong to: each has its own "purchase valid until"."""
    return sorted({TOPICS[t].zone for t in webhook.topics if t in TOPICS})


templates.env.globals["zones_of"] = zones_of
templates.env.globals["answer_headers"] = response_headers.parse


def safe_next(path: str | None) -> str:
    """Only a path on this server: ``//evil.example`` would leave it."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


class CSRFRejected(Exception):
    """A state-changing request without the matching CSRF token: answered 403."""


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form."""


class NotAllowed(Exception):
    """Signed in, but this page belongs to the other role: answered 403."""


@dataclass
class View:
    """One request as the templates see it."""

    request: Request
    ctx: Context
    lang: str
    t: Translator
    csrf_token: str
    user: User | None
    new_presession: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    """Times are shown in this zone: a member's pages set their platform's."""
    cookies: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    frame_ancestors: tuple[str, ...] = ()
    """Origins allowed to frame the dashboard (``HOOKLINE_FRAME_ANCESTORS``); with any,
    pages say so in their CSP and cookies are ``SameSite=None; Secure; Partitioned``:
    sent from inside another site's frame, and kept there by browsers that block
    third-party cookies (CHIPS: the cookie belongs to that one embedding site). None:
    framing refused, cookies ``SameSite=Lax``."""

    @property
    def secure(self) -> bool:
        return is_secure(self.request)

    @property
    def actor(self) -> Actor:
        """The signed-in user as the audit log names them."""
        if self.user is None:
            raise LoginRequired
        return request_actor(self.request, "user", self.user.id)

    @property
    def platform_id(self) -> str:
        if self.user is None:
            raise LoginRequired
        if self.user.platform_id is None:
            raise NotAllowed
        return self.user.platform_id

    def render(self, template: str, status_code: int = 200, **values: Any) -> Response:
        response = templates.TemplateResponse(
            self.request,
            template,
            {"v": self, "t": self.t, **values},
            status_code=status_code,
        )
        return self.finish(response)

    def error_text(self, exc: HooklineError, *catalogs: str) -> str:
        """A use case's error translated by its stable code, never its English message.

        ``catalogs`` are key prefixes tried before the shared ``error``, e.g.
        ``operator.error`` for texts that only the operator's pages word their own way.
        """
        for prefix in (*catalogs, "error"):
            key = f"{prefix}.{exc.code}"
            if self.t.has(key):
                return self.t(key)
        return self.t("error.generic", code=exc.code)

    def field_text(self, error: FieldError, *catalogs: str, **params: Any) -> str:
        """One field's error by its code, like ``error_text``; ``params`` fill its text."""
        for prefix in (*catalogs, "field"):
            key = f"{prefix}.{error.code}"
            if self.t.has(key):
                return self.t(key, **params)
        return self.t("field.invalid")

    def error_page(self, exc: HooklineError, status_code: int) -> Response:
        """A use case's error on a dashboard page, translated by its stable code."""
        return self.render("error.html", status_code=status_code, message=self.error_text(exc))

    def redirect(self, url: str) -> Response:
        return self.finish(RedirectResponse(url, status_code=303))

    def finish(self, response: Response) -> Response:
        for name, value in framed_headers(self.frame_ancestors).items():
            response.headers.setdefault(name, value)
        if self.new_presession is not None:
            self.set_cookie(response, PRESESSION_COOKIE, self.new_presession, None)
        for name, (value, max_age) in self.cookies.items():
            self.set_cookie(response, name, value, max_age)
        return response

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        """``name`` is the plain name; over https the session cookies get ``__Host-``."""
        response.set_cookie(
            cookie_name(name, self.secure),
            value,
            max_age=max_age,
            httponly=True,
            samesite="none" if self.frame_ancestors else "lax",
            secure=self.secure or bool(self.frame_ancestors),
            path="/",
        )
        if self.frame_ancestors:
            partition_last_cookie(response)

    def delete_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(
            cookie_name(name, self.secure),
            path="/",
            secure=self.secure or bool(self.frame_ancestors),
            httponly=True,
            samesite="none" if self.frame_ancestors else "lax",
        )
        if self.frame_ancestors:
            partition_last_cookie(response)

    def local_time(
        self, moment: datetime | None, timezone: str | None = None, *, seconds: bool = False
    ) -> str:
        """``seconds`` where moments are seconds apart: retries come after 1, 2 and 4 s."""
        if moment is None:
            return "—"
        shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
        return moment.astimezone(ZoneInfo(timezone or self.timezone)).strftime(shape)

    def local_hour(self, moment: datetime, timezone: str | None = None) -> str:
        return moment.astimezone(ZoneInfo(timezone or self.timezone)).strftime("%H:%M")

    languages = LANGUAGES
    language_names = LANGUAGE_NAMES


def build_view(request: Request) -> View:
    """The request's view, built once: error handlers reuse it, the session is read once."""
    built: View | None = getattr(request.state, "view", None)
    if built is not None:
        return built
    ctx = get_context(request)
    lang = negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))
    csrf = binding_of(request, ctx.box)
    token = read_cookie(request, SESSION_COOKIE)
    user = users.session_user(ctx, token) if token else None
    view = View(
        request=request,
        ctx=ctx,
        lang=lang,
        t=Translator(lang),
        csrf_token=csrf.token,
        user=user,
        new_presession=csrf.new_presession,
        frame_ancestors=get_wiring(request).frame_ancestors,
    )
    request.state.view = view
    return view


async def checked_view(request: Request) -> View:
    """The view of a state-changing request, after its CSRF token was compared.

    A request the browser says another origin sent is refused before the form is read.
    """
    view = build_view(request)
    if sent_by_another_origin(request):
        raise CSRFRejected
    form: Mapping[str, Any] = await request.form()
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not token_matches(sent, view.csrf_token):
        raise CSRFRejected
    return view


def member_view(view: Annotated[View, Depends(build_view)]) -> View:
    if view.user is None:
        raise LoginRequired
    if view.user.platform_id is None:
        raise NotAllowed
    return view


def member_action(view: Annotated[View, Depends(checked_view)]) -> View:
    return member_view(view)


def operator_view(view: Annotated[View, Depends(build_view)]) -> View:
    if view.user is None:
        raise LoginRequired
    if not view.user.is_operator:
        raise NotAllowed
    return view


def operator_action(view: Annotated[View, Depends(checked_view)]) -> View:
    return operator_view(view)


AnyView = Annotated[View, Depends(build_view)]
Action = Annotated[View, Depends(checked_view)]
MemberPage = Annotated[View, Depends(member_view)]
MemberAction = Annotated[View, Depends(member_action)]
OperatorPage = Annotated[View, Depends(operator_view)]
OperatorAction = Annotated[View, Depends(operator_action)]
