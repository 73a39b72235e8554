"""The worker's claim and settle as single PostgreSQL statements.

Each statement is a round trip to the server, and on a busy machine each round trip
waits for the server process and then for the client to be scheduled again: the
worker's transaction spent far longer waiting between statements than in them. So the
lease of a claim answers what the sends need (``UPDATE ... FROM ... RETURNING``) and a
settle records its attempts in the same statement that moves its deliveries on
(``WITH recorded AS (INSERT ...) UPDATE ...``). SQLite runs in-process, where a
statement costs no round trip: ``claims`` keeps its plain forms there.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CompoundSelect,
    Connection,
    Integer,
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
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.selectable import CTE

from hookline.domain.deliveries import Attempt, DeliveryState, InFlight
from hookline.domain.models import WebhookStatus
from hookline.store import loads
from hookline.store.bulk import columns_of, id_rows, ids_of, unnest_of
from hookline.store.ordering import IS_FIFO
from hookline.store.tables import (
    attempts,
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


def _due(busy: CTE) -> CTE:
    """The due rows of webhooks under their cap, oldest first and locked: ``limit *
    LOOKAHEAD`` of them, so a webhook that fills its cap partway leaves room for the
    others."""
    return (
        select(deliveries.c.id, deliveries.c.webhook_id, deliveries.c.next_attempt_at)
        .where(
            IS_PENDING,
            deliveries.c.next_attempt_at
            <= bindparam("now", type_=deliveries.c.next_attempt_at.type),
            # IS TRUE: see claims._due_query (a filter, not a join driven by webhooks)
            exists()
            .where(webhooks.c.id == deliveries.c.webhook_id, webhooks.c.status == WORKING)
            .is_(true()),
            deliveries.c.webhook_id.not_in(select(busy.c.webhook_id).where(busy.c.n >= _CAP)),
        )
        .order_by(deliveries.c.next_attempt_at)
        .limit(bindparam("take", type_=Integer))
        .with_for_update(skip_locked=True)
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
        .limit(bindparam("limit", type_=Integer))
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


def _claim_and_look(busy: CTE, *, publish: bool) -> CompoundSelect[Any]:
    """The whole claim in one statement, built once per form (a worker runs it every
    round); ``busy`` says what is in flight per webhook, ``publish`` writes the
    claimer's load (``loads.published``).

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
    """
    due = _due(busy)
    leased = _leased(_chosen(due, busy, _hooks(due)))
    fifo_webhooks = exists().where(IS_FIFO, webhooks.c.status == WORKING)  # ix_webhooks_fifo
    next_due = (
        select(func.min(deliveries.c.next_attempt_at))
        .where(IS_PENDING, ~exists(select(leased.c.id)))
        .scalar_subquery()
    )
    statement = select(  # typed NULLs: the first SELECT's types process every row
        *leased.c,
        cast(null(), Boolean).label("fifo_webhooks"),
        cast(null(), deliveries.c.next_attempt_at.type).label("next_due_at"),
    ).union_all(
        select(
            *(null() for _ in leased.c),
            fifo_webhooks.label("fifo_webhooks"),
            next_due.label("next_due_at"),
        )
    )
    return statement.add_cte(loads.published(leased)) if publish else statement


_CLAIM_COUNTING = _claim_and_look(_BUSY_IN_DELIVERIES, publish=False)
_CLAIM_PUBLISHING = _claim_and_look(loads.BUSY, publish=True)


@dataclass(frozen=True)
class Claim:
    """What ``claim`` answers: rows leased, and a look at the rest of the queue."""

    rows: list[Any]
    fifo_webhooks: bool
    """Some working webhook is FIFO: its heads need ``ordering.claim_heads``."""
    next_due_at: datetime | None
    """The earliest due time pending as the claim began (so only when ``rows`` is empty,
    the next due time after it)."""


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
) -> Claim:
    """Lease up to ``limit`` due deliveries within ``per_webhook_cap``, with their
    ``DUE_COLUMNS`` and ``secrets``, oldest due first; and look (``_claim_and_look``).
    In flight counts ``in_flight`` and the peers' published loads, or, without it,
    the deliveries themselves."""
    params: dict[str, Any] = {
        "now": now,
        "take": limit * lookahead,
        "limit": limit,
        "cap": per_webhook_cap,
        "owner": owner,
        "lease_until": lease_until,
    }
    statement = _CLAIM_COUNTING
    if in_flight is not None:
        statement = _CLAIM_PUBLISHING
        mine = {hook: n for hook, n in in_flight.mine.items() if n > 0}
        params["own_load"] = json.dumps(mine, separators=(",", ":"))
        params["peers_since"] = in_flight.peers_alive_since
    rows = conn.execute(statement, params).all()
    (look,) = [r for r in rows if r.id is None]
    leased = sorted((r for r in rows if r.id is not None), key=lambda r: r.next_attempt_at)
    return Claim(leased, bool(look.fifo_webhooks), look.next_due_at)


def attempt_rows(made: Sequence[tuple[str, Attempt]]) -> list[dict[str, Any]]:
    """Attempt rows, one per (delivery id, attempt): every HTTP request made is kept."""
    return [
        {
            "delivery_id": delivery_id,
            "number": a.number,
            "trigger": a.trigger.value,
            "started_at": a.started_at,
            "latency_ms": a.latency_ms,
            "status_code": a.status_code,
            "error": a.error,
            "error_detail": a.error_detail,
            "response_body": a.response_body,
            "response_headers": a.response_headers,
        }
        for delivery_id, a in made
    ]


def settle_rows(
    conn: Connection,
    made: Sequence[tuple[str, Attempt]],
    rows: Sequence[dict[str, Any]],
    now: datetime,
    *,
    owner: str | None,
    healed: Sequence[str] = (),
) -> int:
    """Record ``made``, write ``rows`` (new delivery states) and end the failing period
    of the ``healed`` webhooks (``health.end_failing``), in one statement.

    ``WITH recorded AS (INSERT INTO attempts ... unnest), healed AS (UPDATE webhooks
    ...) UPDATE deliveries ... FROM unnest(...)``; answers how many deliveries changed.
    With an ``owner``, only rows it still leases change; the attempts are recorded
    either way. Ending a failing period was a statement of its own in every settle
    that delivered anything, a round trip that nearly always changed nothing.
    """
    made_columns, made_params = columns_of(conn, attempts, attempt_rows(made))
    columns, params = columns_of(conn, deliveries, rows)
    statement = _settle_statement(
        tuple(c.name for c in made_columns), tuple(c.name for c in columns), owned=owner is not None
    )
    params = {**made_params, **params, "settled_now": now, "healed_ids": ids_of(healed)}
    if owner is not None:
        params["settled_owner"] = owner
    return int(conn.execute(statement, params).rowcount)


_HEALED_ROWS = id_rows("healed")
_HEALED = (
    update(webhooks)
    .where(webhooks.c.id == _HEALED_ROWS.c.id, webhooks.c.failing_since.is_not(None))
    .values(failing_since=None)
)


@functools.cache
def _settle_statement(made: tuple[str, ...], settled: tuple[str, ...], *, owned: bool) -> Update:
    """The settle for these attempt and delivery columns, built once (see ``_LEASE_AND_READ``)."""
    made_columns = [attempts.c[name] for name in made]
    recorded = postgresql.insert(attempts).from_select(
        made_columns, select(*unnest_of(made_columns).c)
    )
    rows = unnest_of([deliveries.c[name] for name in settled], "settled")
    statement = (
        update(deliveries)
        .where(deliveries.c.id == rows.c.id)
        .values(
            state=rows.c.state,
            attempts=rows.c.attempts,
            next_attempt_at=rows.c.next_attempt_at,
            lease_owner=None,
            lease_expires_at=None,
            last_status_code=rows.c.last_status_code,
            last_error=rows.c.last_error,
            updated_at=bindparam("settled_now", type_=deliveries.c.updated_at.type),
            completed_at=rows.c.completed_at,
        )
        .add_cte(recorded.cte("recorded"))
        .add_cte(_HEALED.cte("healed"))
    )
    if owned:
        statement = statement.where(
            deliveries.c.lease_owner == bindparam("settled_owner"),
            deliveries.c.state == literal_column(f"'{IN_FLIGHT}'"),
        )
    return statement
