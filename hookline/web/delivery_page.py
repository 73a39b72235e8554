"""One delivery's page: its attempts and event body, and a resend by hand.

Kept apart from ``pages`` (the list, create and details pages) so each stays readable;
mounted before ``pages``, whose catch-all GET of ``/webhooks/{id}/{rest}`` would
otherwise answer these addresses.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hookline.domain.deliveries import Delivery
from hookline.domain.errors import DeliveryInFlight, DeliveryNotFound
from hookline.domain.models import Webhook
from hookline.http.deps import SendDep
from hookline.services import deliveries, platforms, webhooks
from hookline.services.deliveries import SentNow
from hookline.web.pages import error_message, pretty_body, readable
from hookline.web.routing import dashboard_router
from hookline.web.verdict import explain
from hookline.web.view import MemberAction, MemberPage, View

router = dashboard_router()


def _delivery_of(view: View, webhook: Webhook, delivery_id: str) -> Delivery:
    """Only this webhook's deliveries, from its page: another id is not found here."""
    delivery = deliveries.get_delivery(view.ctx, view.platform_id, delivery_id)
    if delivery.webhook_id != webhook.id:
        raise DeliveryNotFound(f"No delivery has the id '{delivery_id}'.")
    return delivery


def delivery_page(
    view: View,
    webhook: Webhook,
    delivery_id: str,
    *,
    sent: SentNow | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    delivery = _delivery_of(view, webhook, delivery_id)
    event = deliveries.get_event(view.ctx, view.platform_id, delivery.event_id)
    view.timezone = platforms.get_platform(view.ctx, view.platform_id).timezone
    return view.render(
        "webhooks/delivery.html",
        status_code=status_code,
        webhook=webhook,
        delivery=delivery,
        event_body=readable(event.body) or pretty_body(event.body),
        exact_body=pretty_body(event.body),
        sent=sent,
        verdict=explain(sent.result) if sent else None,
        error=error,
    )


@router.get("/webhooks/{webhook_id}/deliveries/{delivery_id}")
def delivery_details(view: MemberPage, webhook_id: str, delivery_id: str) -> Response:
    webhook = webhooks.get_webhook(view.ctx, view.platform_id, webhook_id)
    return delivery_page(view, webhook, delivery_id)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/resend")
async def resend(view: MemberAction, send: SendDep, webhook_id: str, delivery_id: str) -> Response:
    webhook = await run_in_threadpool(webhooks.get_webhook, view.ctx, view.platform_id, webhook_id)
    await run_in_threadpool(_delivery_of, view, webhook, delivery_id)
    try:
        sent = await deliveries.resend(view.ctx, send, view.platform_id, delivery_id)
    except DeliveryInFlight as exc:
        message = error_message(view, exc)
        return await run_in_threadpool(
            delivery_page, view, webhook, delivery_id, error=message, status_code=409
        )
    return await run_in_threadpool(delivery_page, view, webhook, delivery_id, sent=sent)
