"""The worker's claim as a single PostgreSQL statement (its settle: ``pg_settles``).

Each statement is a round trip to the server, and on a busy machine each round trip
waits for the server process and then for the client to be scheduled again: the
worker's transaction spent far longer waiting between statements than in them. So the
lease of a claim answers what the sends need (``UPDATE ... FROM ... RETURNING``), with
what the rest of the round would have asked. SQLite runs in-process, where a
statement costs no round trip: ``claims`` keeps its plain forms there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CompoundSelect,
    Connection,
    Integer,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.selectable import CTE, Exists

from hookline.domain.deliveries import DeliveryState, InFlight
from hookline.domain.models import WebhookStatus
from hookline.store import loads
from hookline.store.ordering import IS_FIFO
from hookline.store.tables import (
    deliveries,
    events,
    platforms,
    webhook_secrets,
    webhooks,
)
from hookline.store.webhooks import RETRY_POLICY

IN_FLIGHT = DeliveryState.IN_FLIGHT.value
PENDING = DeliveryState.PENDING.value
WORKING = WebhookStatus.WORKING.value
# Written into the SQL, not bound: a statement psycopg has prepared can then still use
# the partial indexes ix_deliveries_due (state = 'pending') and ix_deliveries_in_flight,
# whose predicate PostgreSQL must prove from the query's text.
IS_PENDING = deliveries.c.state == literal_column(f"'{PENDING}'")
IS_IN_FLIGHT = deliveries.c.state == literal_column(f"'{IN_FLIGHT}'")

_DELIVERY_COLUMNS = (
    deliveries.c.id,
    deliveries.c.webhook_id,
    deliveries.c.idempotency_key,
    deliveries.c.attempts,
)
_HOOK_COLUMNS = (
    webhooks.c.url,
    webhooks.c.headers_sealed,
    webhooks.c.timeout_seconds,
    webhooks.c.rate_limit_per_second,
)
DUE_COLUMNS = (*_DELIVERY_COLUMNS, events.c.body, *_HOOK_COLUMNS, RETRY_POLICY)
"""What a send needs of a delivery, its event, its webhook (its controls too) and its
platform: the retry policy is the webhook's, else the platform's."""

_BUSY_IN_DELIVERIES = (
    select(deliveries.c.webhook_id, func.count().label("n"))
    .where(IS_IN_FLIGHT)
    .group_by(deliveries.c.webhook_id)
    .cte("busy")
)
"""In-flight counts read from ``deliveries``: exact, for a caller that does not know
its own (``claim(in_flight=None)``: tests and tools). A bitmap scan of
``ix_deliveries_in_flight`` here reads every entry made since the last vacuum."""

_CAP = bindparam("cap", type_=Integer)
_LIMIT = bindparam("limit", type_=Integer)
_TAKE = bindparam("take", type_=Integer)
_NOW = bindparam("now", type_=deliveries.c.next_attempt_at.type)


_SECRETS = (
    select(
        func.array_agg(
            postgresql.aggregate_order_by(
                webhook_secrets.c.ciphertext, webhook_secrets.c.expires_at.desc().nulls_first()
            )
        )
    )
    .where(
        webhook_secrets.c.webhook_id == webhooks.c.id,
        or_(
            webhook_secrets.c.expires_at.is_(None),
            webhook_secrets.c.expires_at > bindparam("now", type_=deliveries.c.updated_at.type),
        ),
    )
    .correlate(webhooks)
    .scalar_subquery()
    .label("secrets")
)
"""A webhook's signing secrets: current first, then the later-expiring."""


def _hooks(due: CTE) -> CTE:
    """What a send needs of each webhook with a due row, and of its platform: read once
    per webhook, not once per leased row (three lookups and the secrets for each of a
    60-row claim's rows were 365 of its 1,279 buffers). ``MATERIALIZED``: inlined, the planner
    may fold it back into the per-row lookups."""
    wanted = select(due.c.webhook_id)
    return (
        select(
            webhooks.c.id.label("hook_id"),
            *_HOOK_COLUMNS,
            RETRY_POLICY,
            _SECRETS,
        )
        .join(platforms, platforms.c.id == webhooks.c.platform_id)
        .where(webhooks.c.id.in_(wanted))
        .cte("hooks")
        .prefix_with("MATERIALIZED")
    )


def _due() -> CTE:
    """The first ``take`` due rows, oldest first and locked, whatever their webhook's
    load (``_chosen`` applies the cap): a webhook that fills its cap partway leaves
    room for the others among them (``take`` is ``limit * LOOKAHEAD``).

    The scan stops at ``take``. Leaving out the webhooks at their cap here instead
    made the scan walk every due row of theirs before it reached anyone else's: a slow
    receiver's backlog of 100,000 deliveries made each claim 57-85 ms instead of 12.
    When such rows fill the ``take`` (``blocked``), ``_due_by_webhook`` takes over."""
    return (
        select(deliveries.c.id, deliveries.c.webhook_id, deliveries.c.next_attempt_at)
        .where(
            IS_PENDING,
            deliveries.c.next_attempt_at <= _NOW,
            # IS TRUE: see claims._DUE (a filter, not a join driven by webhooks)
            exists()
            .where(webhooks.c.id == deliveries.c.webhook_id, webhooks.c.status == WORKING)
            .is_(true()),
        )
        .order_by(deliveries.c.next_attempt_at)
        .limit(_TAKE)
        .with_for_update(skip_locked=True)
        .cte("due")
    )


def _due_by_webhook(busy: CTE) -> CTE:
    """The due rows of each working webhook under its cap, oldest first, as many as it
    has room for (``ix_deliveries_due_by_webhook``, one descent per webhook): the claim
    when ``_due``'s stretch was ``blocked`` by webhooks at their cap. Its cost grows
    with the working webhooks, not with the backlog of those at their cap."""
    n = func.coalesce(busy.c.n, 0)
    room = (
        select(webhooks.c.id.label("hook"), (_CAP - n).label("room"))
        .select_from(webhooks.outerjoin(busy, busy.c.webhook_id == webhooks.c.id))
        .where(webhooks.c.status == WORKING, n < _CAP)
        .subquery("room")
    )
    oldest = (
        select(deliveries.c.id, deliveries.c.webhook_id, deliveries.c.next_attempt_at)
        .where(
            deliveries.c.webhook_id == room.c.hook,
            IS_PENDING,
            deliveries.c.next_attempt_at <= _NOW,
        )
        # id too: only ix_deliveries_due_by_webhook gives this order without a sort.
        # Ordered by due time alone, the planner walked ix_deliveries_due instead and
        # filtered it by webhook when one webhook held most pending rows (its
        # statistics then say any webhook does): the very backlog this is to avoid.
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(func.least(room.c.room, _LIMIT))
        .with_for_update(skip_locked=True)
        .lateral("oldest")
    )
    return (
        select(oldest.c.id, oldest.c.webhook_id, oldest.c.next_attempt_at)
        .select_from(room.join(oldest, true()))
        .order_by(oldest.c.next_attempt_at)
        .limit(_TAKE)
        .cte("due")
    )


def _chosen(due: CTE, busy: CTE, hooks: CTE) -> CTE:
    """Each due row's place in its webhook's queue after what is in flight (``ranked``),
    and the first ``limit`` of those within the cap, with their webhook's ``hooks``
    row: the lease then joins ``deliveries`` by primary key alone (joined to ``hooks``
    itself, the planner may fetch each webhook's deliveries instead)."""
    place = func.row_number().over(
        partition_by=due.c.webhook_id, order_by=(due.c.next_attempt_at, due.c.id)
    ) + func.coalesce(busy.c.n, 0)
    ranked = (
        select(due.c.id, due.c.webhook_id, due.c.next_attempt_at, place.label("place"))
        .select_from(due.outerjoin(busy, busy.c.webhook_id == due.c.webhook_id))
        .subquery("ranked")
    )
    return (
        select(ranked.c.id, *(c for c in hooks.c if c.name != "hook_id"))
        .join(hooks, hooks.c.hook_id == ranked.c.webhook_id)
        .where(ranked.c.place <= _CAP)
        .order_by(ranked.c.next_attempt_at)
        .limit(_LIMIT)
        .cte("chosen")
    )


def _leased(chosen: CTE) -> CTE:
    """The chosen rows leased, and read with what a send needs (``DUE_COLUMNS``, the
    webhook's part from ``chosen``, and ``secrets``)."""
    return (
        update(deliveries)
        .where(deliveries.c.id == chosen.c.id, events.c.id == deliveries.c.event_id)
        .values(
            state=IN_FLIGHT,
            lease_owner=bindparam("owner"),
            lease_expires_at=bindparam("lease_until", type_=deliveries.c.lease_expires_at.type),
            updated_at=bindparam("now", type_=deliveries.c.updated_at.type),
        )
        .returning(
            *_DELIVERY_COLUMNS,
            events.c.body,
            *(chosen.c[c.name] for c in _HOOK_COLUMNS),
            chosen.c.retry_policy,
            deliveries.c.next_attempt_at,
            chosen.c.secrets,
        )
        .cte("leased")
    )


def _room_left(busy: CTE, leased: CTE) -> Exists:
    """Some working webhook is under its cap even with what this claim leased: the
    only case where looking webhook by webhook can find more. Without it, a round in
    which every busy webhook sits at its cap (three webhooks at the default cap of 50,
    under load) would ask again, each time, for nothing."""
    taken = (
        select(leased.c.webhook_id, func.count().label("n"))
        .group_by(leased.c.webhook_id)
        .subquery("taken")
    )
    return exists(
        select(webhooks.c.id)
        .select_from(
            webhooks.outerjoin(busy, busy.c.webhook_id == webhooks.c.id).outerjoin(
                taken, taken.c.webhook_id == webhooks.c.id
            )
        )
        .where(
            webhooks.c.status == WORKING,
            func.coalesce(busy.c.n, 0) + func.coalesce(taken.c.n, 0) < _CAP,
        )
    )


def _claim_and_look(busy: CTE, due: CTE, *, publish: bool) -> CompoundSelect[Any]:
    """The whole claim in one statement, built once per form (a worker runs it every
    round); ``busy`` says what is in flight per webhook, ``due`` which rows to rank
    (``_due`` or ``_due_by_webhook``), ``publish`` writes the claimer's load
    (``loads.published``).

    It was five statements, each a round trip: with two workers and a busy server
    those trips, not the SQL, were most of a claim's time. The leased rows come with one
    row more (its ``id`` NULL) with what the rest of the round would have asked in
    statements of their own: whether any working webhook is FIFO (if none,
    ``ordering.claim_heads`` has nothing to look for) and the next due time of what is
    pending. That row sees the database as the statement began: before the lease, so
    its due time is the queue's only when nothing was leased, and it is read only then
    (NULL otherwise). On PostgreSQL that read is not free: ``ix_deliveries_due`` keeps
    an entry for every delivery claimed since the table's last vacuum, at the low end
    the read starts from, and it passes them all (``bench.round_cost --churn``).
    The same row says whether ``due`` was ``blocked``: it filled its ``take``, fewer than
    ``limit`` rows were leased, and some webhook has room left (``_room_left``), so
    webhooks at their cap may hide others' due rows further on.
    """
    leased = _leased(_chosen(due, busy, _hooks(due)))
    fifo_webhooks = exists().where(IS_FIFO, webhooks.c.status == WORKING)  # ix_webhooks_fifo
    next_due = (
        select(func.min(deliveries.c.next_attempt_at))
        .where(IS_PENDING, ~exists(select(leased.c.id)))
        .scalar_subquery()
    )
    blocked = and_(
        select(func.count()).select_from(due).scalar_subquery() >= _TAKE,
        select(func.count()).select_from(leased).scalar_subquery() < _LIMIT,
        _room_left(busy, leased),
    )
    statement = select(  # typed NULLs: the first SELECT's types process every row
        *leased.c,
        cast(null(), Boolean).label("fifo_webhooks"),
        cast(null(), deliveries.c.next_attempt_at.type).label("next_due_at"),
        cast(null(), Boolean).label("blocked"),
    ).union_all(
        select(
            *(null() for _ in leased.c),
            fifo_webhooks.label("fifo_webhooks"),
            next_due.label("next_due_at"),
            blocked.label("blocked"),
        )
    )
    return statement.add_cte(loads.published(leased)) if publish else statement


_CLAIMS = {
    (publish, by_webhook): _claim_and_look(
        busy, _due_by_webhook(busy) if by_webhook else _due(), publish=publish
    )
    for publish, busy in ((False, _BUSY_IN_DELIVERIES), (True, loads.BUSY))
    for by_webhook in (False, True)
}


@dataclass(frozen=True)
class Claim:
    """What ``claim`` answers: rows leased, and a look at the rest of the queue."""

    rows: list[Any]
    fifo_webhooks: bool
    """Some working webhook is FIFO: its heads need ``ordering.claim_heads``."""
    next_due_at: datetime | None
    """The earliest due time pending as the claim began (so only when ``rows`` is empty,
    the next due time after it)."""
    blocked: bool = False
    """Webhooks at their cap filled the due scan's stretch: claim again ``by_webhook``."""


def claim(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    per_webhook_cap: int,
    lookahead: int,
    in_flight: InFlight | None = None,
    by_webhook: bool = False,
) -> Claim:
    """Lease up to ``limit`` due deliveries within ``per_webhook_cap``, with their
    ``DUE_COLUMNS`` and ``secrets``, oldest due first; and look (``_claim_and_look``).
    In flight counts ``in_flight`` and the peers' published loads, or, without it,
    the deliveries themselves. ``by_webhook``: the due rows are found webhook by
    webhook (``_due_by_webhook``), after a claim that was ``blocked``."""
    params: dict[str, Any] = {
        "now": now,
        "take": limit * lookahead,
        "limit": limit,
        "cap": per_webhook_cap,
        "owner": owner,
        "lease_until": lease_until,
    }
    statement = _CLAIMS[in_flight is not None, by_webhook]
    if in_flight is not None:
        mine = {hook: n for hook, n in in_flight.mine.items() if n > 0}
        params["own_load"] = json.dumps(mine, separators=(",", ":"))
        params["peers_since"] = in_flight.peers_alive_since
    rows = conn.execute(statement, params).all()
    (look,) = [r for r in rows if r.id is None]
    leased = sorted((r for r in rows if r.id is not None), key=lambda r: r.next_attempt_at)
    blocked = bool(look.blocked) and not by_webhook
    return Claim(leased, bool(look.fifo_webhooks), look.next_due_at, blocked)
