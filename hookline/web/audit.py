"""The audit log page: a member reads their platform's entries, an operator everyone's.

One address for both roles (``/audit``): what a person may read follows from who they
are, never from the URL, so a member's ``?platform=`` of another platform is ignored.
"""

from __future__ import annotations

from fastapi.responses import Response

from hookline.domain.errors import InvalidInput
from hookline.services import audit, platforms
from hookline.services.audit import AuditPage
from hookline.web.routing import dashboard_router
from hookline.web.view import AnyView, LoginRequired

router = dashboard_router()
PAGE_SIZE = 50


@router.get("/audit")
def audit_page(
    view: AnyView, action: str | None = None, platform: str | None = None, cursor: str | None = None
) -> Response:
    if view.user is None:
        raise LoginRequired
    operator = view.user.is_operator
    scope = None if operator else view.platform_id
    if scope is not None:
        view.timezone = platforms.get_platform(view.ctx, scope).timezone
    error = None
    page = AuditPage([], None)
    try:
        if operator and platform:
            scope = platform
            audit.platform_timezone(view.ctx, platform)
        wanted = audit.audit_filter(platform_id=scope, action=action or None)
        page = audit.read(view.ctx, wanted, cursor=cursor or None, limit=PAGE_SIZE)
    except InvalidInput as exc:
        error = view.t("audit.bad_filter", field=exc.errors[0].field if exc.errors else "")
    filters = {"action": action or "", "platform": (platform or "") if operator else ""}
    more = {k: v for k, v in filters.items() if v} | {"cursor": page.next_cursor or ""}
    return view.render(
        "audit/list.html",
        page=page,
        operator=operator,
        filters=filters,
        error=error,
        next_query=more,
    )
