"""A test send explained in plain words, by the same rule the worker applies.

The verdict reuses ``domain.retry.judge`` so the dashboard can never promise a retry
the delivery engine would not make.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hookline.domain.deliveries import AttemptResult, ErrorClass
from hookline.domain.retry import Verdict, judge
from hookline.domain.settlement import GONE, outcome_of

REFUSED = frozenset({401, 403})


@dataclass(frozen=True)
class Explained:
    """``key`` names a catalog text; ``tone`` is ok / warn / bad for its colour."""

    key: str
    tone: str
    params: dict[str, object] = field(default_factory=dict)


_ERROR_KEYS = {
    ErrorClass.TIMEOUT: "verdict.timeout",
    ErrorClass.CONNECT_ERROR: "verdict.connect_error",
    ErrorClass.DNS_ERROR: "verdict.dns_error",
    ErrorClass.TLS_ERROR: "verdict.tls_error",
    ErrorClass.BLOCKED_ADDRESS: "verdict.blocked_address",
    ErrorClass.SECRET_UNREADABLE: "verdict.secret_unreadable",
    ErrorClass.OUTCOME_UNKNOWN: "verdict.outcome_unknown",
}


def explain(result: AttemptResult) -> Explained:
    verdict = judge(outcome_of(result))
    code = result.status_code
    if code is None:
        key = _ERROR_KEYS.get(result.error or ErrorClass.CONNECT_ERROR, "verdict.connect_error")
        return Explained(key, "warn" if verdict is Verdict.RETRY else "bad")
    if verdict is Verdict.DELIVERED:
        return Explained("verdict.delivered", "ok", {"status": code})
    if code in REFUSED:
        return Explained("verdict.refused", "bad", {"status": code})
    if code == GONE:
        return Explained("verdict.gone", "bad", {"status": code})
    if 300 <= code < 400:
        return Explained("verdict.redirect", "bad", {"status": code})
    if verdict is Verdict.RETRY:
        return Explained("verdict.retried", "warn", {"status": code})
    return Explained("verdict.not_retried", "bad", {"status": code})
