"""Workers' loads: each worker's deliveries in flight per webhook, on its ``worker_loads`` row.

A PostgreSQL claim used to count every webhook's in-flight deliveries in ``deliveries``,
and whenever the planner read ``ix_deliveries_in_flight`` with a bitmap scan, that count
read every entry a claim had made since the last vacuum (migration 0014). A worker
knows what it sends: it tells its claim (``domain.deliveries.InFlight``, bound as
``own_load``), the claim adds its live peers' loads (``BUSY``) and writes the
claimer's new one in the same statement (``published``). These are pieces of
``pg_batches``' claim statement, kept here by what they hold. A load has a row of its
own, not a column of ``workers``: the claim holds its row's lock until the round
commits, and the heartbeat, which rewrites the ``workers`` row, must not wait for that
(migration 0015).
"""

from __future__ import annotations

from sqlalchemy import (
    Integer,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.selectable import CTE

from hookline.store.tables import worker_loads, workers

_MINE = (
    func.jsonb_each_text(cast(bindparam("own_load", type_=Text()), postgresql.JSONB))
    .table_valued("key", "value")
    .render_derived(name="mine")
)
_THEIRS = (
    func.jsonb_each_text(cast(worker_loads.c.load, postgresql.JSONB))
    .table_valued("key", "value")
    .render_derived(name="theirs")
)
_LOADS = union_all(
    select(_MINE.c.key.label("webhook_id"), cast(_MINE.c.value, Integer).label("n")),
    select(_THEIRS.c.key, cast(_THEIRS.c.value, Integer))
    .select_from(worker_loads)
    .join(workers, workers.c.name == worker_loads.c.name)
    .join(_THEIRS, true())
    .where(
        workers.c.name != bindparam("owner"),
        workers.c.heartbeat_at >= bindparam("peers_since", type_=workers.c.heartbeat_at.type),
        # an object: a peer's load of any other shape (none is written) is no reason
        # for every claim to fail
        func.jsonb_typeof(cast(worker_loads.c.load, postgresql.JSONB)) == "object",
    ),
).subquery("loads")
BUSY = (
    select(_LOADS.c.webhook_id, func.sum(_LOADS.c.n).label("n"))
    .group_by(_LOADS.c.webhook_id)
    .cte("busy")
)
"""In-flight counts per webhook from the workers themselves: the claimer's own
(``own_load``, JSON) and each live peer's ``worker_loads.load`` as of its last claim. No
delivery is read, so the count costs the same however much history the table holds."""


def published(leased: CTE) -> CTE:
    """The claimer's ``worker_loads`` row gets its new load, for its peers' next claims:
    its own count plus what it just leased. Unchanged (an idle worker's round), the row
    is left alone: no row version per round. Its first claim makes the row."""
    load = union_all(
        select(_MINE.c.key.label("webhook_id"), cast(_MINE.c.value, Integer).label("n")),
        select(leased.c.webhook_id, literal_column("1")),
    ).subquery("load")
    summed = (
        select(load.c.webhook_id, func.sum(load.c.n).label("n"))
        .group_by(load.c.webhook_id)
        .subquery("summed")
    )
    as_json = func.jsonb_object_agg(summed.c.webhook_id, summed.c.n)
    nothing = cast(literal_column("'{}'"), postgresql.JSONB)  # a literal: no JSON bind
    new_value = select(cast(func.coalesce(as_json, nothing), Text)).scalar_subquery()
    written = postgresql.insert(worker_loads).from_select(
        ["name", "load"], select(bindparam("owner", type_=worker_loads.c.name.type), new_value)
    )
    return (
        written.on_conflict_do_update(
            index_elements=[worker_loads.c.name],
            set_={"load": written.excluded.load},
            where=worker_loads.c.load.is_distinct_from(written.excluded.load),
        )
        .returning(worker_loads.c.name)
        .cte("published")
    )
