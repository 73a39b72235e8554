"""CSRF tokens bound to the session, so a cookie planted by a neighbour is useless.

Double-submit (a random cookie echoed in the form) trusts that nobody else can set
the cookie; a page on another port of the same host, or on a sibling subdomain over
plain http, can. So the token is not a cookie's value but a tag only this server can
make (``SecretBox.tag``) of what the browser already holds:

- signed in: the session token (HttpOnly, never shown to a page). Another site can
  plant a CSRF cookie or a form field, but not the tag of the victim's session, and
  a planted session cookie would only be the attacker's own session.
- before login (the login form only): a random pre-session cookie. Its tag is what an
  attacker could learn for a pre-session value of their own, then plant both: that is
  a login CSRF, which would sign the victim in as the attacker. Browsers say where a
  form came from (``Sec-Fetch-Site``); a state-changing request another origin sent,
  a sibling subdomain or another port included, is refused whatever it carries. Over
  https the cookies are ``__Host-`` cookies (Secure, Path=/, no Domain), which a
  sibling subdomain cannot set at all.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request

from hookline.domain.secrets import SecretBox

SESSION_COOKIE = "hookline_session"
PRESESSION_COOKIE = "hookline_csrf"
HOST_PREFIX = "__Host-"
HOST_ONLY_COOKIES = frozenset({SESSION_COOKIE, PRESESSION_COOKIE})
"""Cookies named ``__Host-...`` over https: the browser refuses them from anyone else."""
MIN_PRESESSION_LENGTH = 32
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})
"""``Sec-Fetch-Site`` values of a request some other origin made the browser send."""


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(name: str, secure: bool) -> str:
    """``__Host-`` needs Secure, so over plain http (development) the plain name is used."""
    return HOST_PREFIX + name if secure and name in HOST_ONLY_COOKIES else name


def read_cookie(request: Request, name: str) -> str | None:
    return request.cookies.get(cookie_name(name, is_secure(request)))


@dataclass(frozen=True)
class CsrfBinding:
    token: str
    """What forms and htmx send back."""
    new_presession: str | None = None
    """A pre-session value to hand the browser, when it had none."""


def binding_of(request: Request, box: SecretBox) -> CsrfBinding:
    """The token this request's browser must send back with a state-changing request.

    A session cookie binds it, valid or not: with an expired session the form still
    passes this check and the page then asks for a login, as it always did.
    """
    session = read_cookie(request, SESSION_COOKIE)
    if session:
        return CsrfBinding(box.tag("csrf-session", session))
    presession = read_cookie(request, PRESESSION_COOKIE) or ""
    if len(presession) >= MIN_PRESESSION_LENGTH:
        return CsrfBinding(box.tag("csrf-login", presession))
    fresh = secrets.token_urlsafe(32)
    return CsrfBinding(box.tag("csrf-login", fresh), new_presession=fresh)


def sent_by_another_origin(request: Request) -> bool:
    """What the browser says about where the request came from; absent means unknown."""
    return request.headers.get("sec-fetch-site", "") in FOREIGN_FETCH_SITES


def token_matches(sent: object, expected: str) -> bool:
    if not isinstance(sent, str):
        return False
    return secrets.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))
