"""``GET /metrics``: Prometheus's page, behind its own bearer token.

The page names webhook ids and traffic volumes, so it is not public; its token
(``HOOKLINE_METRICS_TOKEN``) is separate from the operator's, which a scraper's
configuration should never hold. Unset, the route answers 401, like the operator
routes without theirs.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import Response

from hookline.api.deps import Credentials, Ctx, bearer_token
from hookline.domain import secrets
from hookline.domain.errors import Unauthorized
from hookline.http.deps import WiringDep
from hookline.metrics import exposition
from hookline.services import monitoring

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(ctx: Ctx, wiring: WiringDep, credentials: Credentials) -> Response:
    expected = wiring.metrics_token
    if not expected:
        raise Unauthorized("/metrics is disabled: HOOKLINE_METRICS_TOKEN is not set.")
    if not secrets.tokens_equal(bearer_token(credentials), expected):
        raise Unauthorized("The metrics token is not valid.")
    try:
        reading: monitoring.QueueSnapshot | None = monitoring.read_queue(ctx)
    except Exception:  # the counters are still worth serving; the gauges go missing
        log.warning("could not read the queue for /metrics", exc_info=True)
        reading = None
    body = exposition.render(reading, writes_failing=ctx.db.write_health.failing)
    return Response(body, media_type=exposition.CONTENT_TYPE)
