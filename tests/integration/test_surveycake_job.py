"""The SurveyCake job against a fake SurveyCake on loopback, on SQLite and PostgreSQL.

Notifications go in through the intake's use case, the job fetches over real HTTP
through the SSRF-guarded fetcher, and what it publishes is delivered by a real worker
to a loopback receiver that verifies it with ``hookline.receiver``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hookline.devtools.fake_surveycake import DEMO_LINE_UID, FakeSurveyCake, demo_answer
from hookline.dispatch.surveycake_fetch import SurveyCakeFetcher
from hookline.domain.secrets import SecretBox
from hookline.domain.surveycake import encrypt
from hookline.receiver import SurveyCakeSubmittedEvent, verify_and_parse
from hookline.services import keys, platforms, surveycake, webhooks
from hookline.services.context import Context
from hookline.services.surveycake_job import JobSettings, SurveyCakeJob
from hookline.store import surveycake as store
from hookline.store import workers
from hookline.store.tables import deliveries, events, surveycake_notifications, surveycake_surveys
from tests.conftest import FakeClock
from tests.support.engine import ACTOR, make_worker
from tests.support.receiver import Receiver

SVID = "yPZQe"
KEY, IV = "0123456789abcdef", "fedcba9876543210"
TOPIC = "form.surveycake_submitted"


@dataclass
class Rig:
    ctx: Context
    platform_id: str
    fake: FakeSurveyCake
    job: SurveyCakeJob
    token: str

    def notify(self, answer_hash: str, svid: str = SVID) -> surveycake.Received:
        return surveycake.receive(self.ctx, self.token, svid, answer_hash)

    def submit(self, answer: dict[str, Any] | None = None) -> str:
        answer_hash = self.fake.submit(SVID, answer or demo_answer(svid=SVID))
        self.notify(answer_hash)
        return answer_hash

    def row(self, answer_hash: str) -> Any:
        with self.ctx.db.read() as conn:
            return conn.execute(
                select(surveycake_notifications).where(
                    surveycake_notifications.c.answer_hash == answer_hash
                )
            ).one()

    def survey(self) -> Any:
        with self.ctx.db.read() as conn:
            return conn.execute(select(surveycake_surveys)).one()

    def count(self, table: Any) -> int:
        with self.ctx.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def new_job(ctx: Context, name: str = "job-a", **settings: Any) -> SurveyCakeJob:
    fetcher = SurveyCakeFetcher(allowed_networks=ctx.allowed_networks, total_timeout=5)
    return SurveyCakeJob(
        ctx, fetcher, name=name, settings=JobSettings(**{"backoff_base": 0.0, **settings})
    )


@pytest.fixture
async def rig(ctx: Context) -> AsyncIterator[Rig]:
    fake = FakeSurveyCake()
    await fake.start()
    created = platforms.create_platform(ctx, "Coffee")
    pid = created.platform.id
    platforms.set_zone(ctx, pid, 1, ctx.clock() + timedelta(days=30))
    fake.add_survey(SVID, KEY, IV)
    surveycake.connect_survey(
        ctx, pid, svid=SVID, name="會員調查", hash_key=KEY, iv_key=IV, base_url=fake.base_url
    )
    token = surveycake.intake_path(ctx, pid).removeprefix(surveycake.INTAKE_PREFIX)
    job = new_job(ctx, max_attempts=3)
    yield Rig(ctx, pid, fake, job, token)
    await job.fetch.close()  # type: ignore[attr-defined]
    await fake.stop()


async def test_an_answer_is_delivered_verified_with_its_aliases(
    rig: Rig, receiver: Receiver, clock: FakeClock
) -> None:
    hook = webhooks.create_webhook(
        rig.ctx, rig.platform_id, name="CRM", url=receiver.url(), topics=[TOPIC]
    )
    answer_hash = rig.submit()
    await rig.job.run_until_idle()
    row = rig.row(answer_hash)
    assert (row.state, row.error, row.attempts) == ("published", None, 1)
    worker = make_worker(rig.ctx)
    await worker.run_until_idle()
    await worker.sender.close()
    (request,) = receiver.received()
    secret = webhooks.reveal_secret(rig.ctx, rig.platform_id, hook.id, ACTOR)
    event = verify_and_parse(request.body, request.headers, secret, now=clock.now)
    assert isinstance(event, SurveyCakeSubmittedEvent)
    data = event.data
    assert data.line_uid == DEMO_LINE_UID and data.customer_id == "C-1001"
    assert data.survey_name == "會員調查" and data.answer_hash == answer_hash
    alias = json.loads(request.body)["data"]["answer"]["alias"]
    assert alias["maac_member_gender"] == ["male"] and alias["通路"] == ["familymart", "other"]
    assert alias["評分_店員"] == ["滿意"]
    assert len(data.answer.result) == len(demo_answer(svid=SVID)["result"])
    assert rig.survey().last_error is None


async def test_the_same_notification_twice_makes_one_event(rig: Rig) -> None:
    answer_hash = rig.submit()
    assert rig.notify(answer_hash).duplicate
    await rig.job.run_until_idle()
    assert rig.count(events) == 1 and rig.count(surveycake_notifications) == 1
    # a worker that died after publishing but before settling: the row is worked again
    with rig.ctx.db.write() as conn:
        conn.execute(
            update(surveycake_notifications).values(
                state="pending", event_id=None, next_attempt_at=rig.ctx.clock()
            )
        )
    await rig.job.run_until_idle()
    assert rig.count(events) == 1
    assert rig.row(answer_hash).state == "published"


async def test_wrong_keys_are_a_failure_shown_on_the_survey(rig: Rig) -> None:
    rig.fake.add_survey(SVID, "x" * 16, "y" * 16)  # SurveyCake's keys differ from ours
    answer_hash = rig.submit()
    await rig.job.run_until_idle()
    row = rig.row(answer_hash)
    assert (row.state, row.error) == ("failed", "wrong_keys")
    survey = rig.survey()
    assert survey.last_error == "wrong_keys" and "Hash key" in survey.last_error_detail
    assert rig.count(events) == 0


async def test_a_truncated_answer_fails_visibly(rig: Rig) -> None:
    answer_hash = rig.fake.submit(SVID, demo_answer(svid=SVID))
    rig.fake.faults[answer_hash] = ["truncate"]
    rig.notify(answer_hash)
    await rig.job.run_until_idle()
    assert rig.row(answer_hash).error == "answer_truncated"
    assert rig.survey().last_error == "answer_truncated"


async def test_a_500_then_a_200_is_retried_and_published(rig: Rig) -> None:
    answer_hash = rig.fake.submit(SVID, demo_answer(svid=SVID))
    rig.fake.faults[answer_hash] = ["500"]
    rig.notify(answer_hash)
    assert await rig.job.run_once() == 1
    row = rig.row(answer_hash)
    assert (row.state, row.error, row.attempts) == ("pending", "fetch_failed", 1)
    assert "HTTP 500" in row.error_detail
    await rig.job.run_until_idle()
    row = rig.row(answer_hash)
    assert (row.state, row.error, row.attempts) == ("published", None, 2)
    assert rig.fake.queries == [f"{SVID}/{answer_hash}"] * 2


async def test_retries_back_off_then_give_up(ctx: Context, rig: Rig, clock: FakeClock) -> None:
    answer_hash = rig.fake.submit(SVID, demo_answer(svid=SVID))
    rig.fake.faults[answer_hash] = ["503"] * 10
    rig.notify(answer_hash)
    backing_off = new_job(ctx, name="job-b", backoff_base=10.0, max_attempts=3)
    await backing_off.run_until_idle()
    row = rig.row(answer_hash)
    assert row.state == "pending" and row.next_attempt_at > clock.now + timedelta(seconds=7)
    for _ in range(2):
        clock.advance(hours=1)
        await backing_off.run_until_idle()
    row = rig.row(answer_hash)
    assert (row.state, row.attempts) == ("failed", 3) and "gave up" in row.error_detail
    await backing_off.fetch.close()  # type: ignore[attr-defined]


async def test_a_404_is_not_retried(rig: Rig) -> None:
    rig.notify("f" * 32)  # SurveyCake has no such answer
    await rig.job.run_until_idle()
    row = rig.row("f" * 32)
    assert (row.state, row.error, row.attempts) == ("failed", "fetch_failed", 1)


async def test_an_answer_without_a_line_friend_is_kept_and_sends_nothing(
    rig: Rig, receiver: Receiver
) -> None:
    webhooks.create_webhook(
        rig.ctx, rig.platform_id, name="CRM", url=receiver.url(), topics=[TOPIC]
    )
    answer_hash = rig.submit(demo_answer(line_uid=None, svid=SVID))
    await rig.job.run_until_idle()
    row = rig.row(answer_hash)
    assert (row.state, row.error) == ("not_linked", "not_linked")
    assert "Not linked to a LINE friend" in row.error_detail
    kept = json.loads(row.answer)
    assert kept["line_uid"] is None and kept["answer"]["alias"]["maac_member_name"] == ["王小明"]
    assert rig.count(events) == 0 and rig.count(deliveries) == 0
    assert rig.survey().last_error is None


async def test_an_unknown_survey_is_fetched_once_connected(ctx: Context, rig: Rig) -> None:
    rig.fake.add_survey("later", KEY, IV)
    answer_hash = rig.fake.submit("later", demo_answer(svid="later"))
    assert rig.notify(answer_hash, svid="later").state == "unknown_survey"
    await rig.job.run_until_idle()
    assert rig.row(answer_hash).state == "unknown_survey" and rig.fake.queries == []
    surveycake.connect_survey(
        ctx, rig.platform_id, svid="later", hash_key=KEY, iv_key=IV, base_url=rig.fake.base_url
    )
    await rig.job.run_until_idle()
    assert rig.row(answer_hash).state == "published"


@pytest.mark.parametrize(
    ("change", "state", "code"),
    [
        ({"title": "bad\x00title\u202e"}, "published", None),  # JSON-escaped in the body
        ({"submitTime": "yesterday"}, "failed", "refused"),
        ({"result": {"not": "a list"}}, "failed", "malformed_answer"),
        ({"result": [{"sn": 1, "answer": ["\ud800"]}]}, "failed", "refused"),
        ({"result": [{"sn": 1, "alias": "\x00\ud800", "answer": ["a"]}]}, "failed", "refused"),
        ({"meta": json.loads("[" * 200 + "]" * 200)}, "published", None),  # not an object
    ],
)
async def test_hostile_answers_fail_visibly_and_store_nothing_unsafe(
    rig: Rig, change: dict[str, Any], state: str, code: str | None
) -> None:
    answer_hash = rig.fake.submit(SVID, {})
    survey = rig.fake.surveys[SVID]
    answer = {**demo_answer(svid=SVID), **change}
    rig.fake.store_raw(SVID, answer_hash, encrypt(answer, survey.hash_key, survey.iv_key))
    rig.notify(answer_hash)
    await rig.job.run_until_idle()
    row = rig.row(answer_hash)
    assert (row.state, row.error) == (state, code)
    assert rig.count(events) == (1 if state == "published" else 0)
    for text in (row.error_detail or "", rig.survey().last_error_detail or ""):
        assert text.isprintable()


async def test_garbage_from_the_query_api_fails_visibly(rig: Rig) -> None:
    answer_hash = rig.fake.submit(SVID, demo_answer(svid=SVID))
    rig.fake.store_raw(SVID, answer_hash, b"<html>\x00\xff maintenance</html>")
    rig.notify(answer_hash)
    await rig.job.run_until_idle()
    assert rig.row(answer_hash).error == "answer_not_base64"


async def test_a_killed_workers_notification_is_taken_over(
    ctx: Context, rig: Rig, clock: FakeClock
) -> None:
    answer_hash = rig.submit()
    with ctx.db.write() as conn:  # a worker claims it, then is killed
        (claimed,) = store.claim(
            conn,
            owner="dead",
            now=clock.now,
            lease_until=clock.now + timedelta(seconds=60),
            limit=5,
        )
    assert await rig.job.run_once() == 0  # leased: nobody else takes it
    clock.advance(seconds=61)
    await rig.job.run_until_idle()
    assert rig.row(answer_hash).state == "published"
    with ctx.db.write() as conn:  # the dead worker's late answer lands nowhere
        assert not store.settle(conn, claimed.id, "dead", {"state": "failed"})
    assert rig.row(answer_hash).state == "published" and rig.count(events) == 1


async def test_a_silent_workers_notification_is_taken_over_before_its_lease_ends(
    ctx: Context, rig: Rig, clock: FakeClock
) -> None:
    """As a SIGKILLed worker's deliveries are: its heartbeat stops, not only its lease."""
    silent, live = rig.submit(), rig.submit(demo_answer(svid=SVID, line_uid=None))
    with ctx.db.write() as conn:
        for owner, limit in (("killed", 1), ("busy", 1)):  # each leases one, 60 s long
            workers.beat(conn, owner, clock.now)
            store.claim(
                conn,
                owner=owner,
                now=clock.now,
                lease_until=clock.now + timedelta(seconds=60),
                limit=limit,
            )
    owners = {rig.row(h).lease_owner for h in (silent, live)}
    assert owners == {"killed", "busy"}
    job = new_job(ctx, name="job-b", dead_after=timedelta(seconds=3))
    try:
        clock.advance(seconds=4)
        with ctx.db.write() as conn:
            workers.beat(conn, "busy", clock.now)  # still beating: its lease holds
            workers.beat(conn, "job-b", clock.now - timedelta(seconds=10))  # itself: alive
        killed_row = next(h for h in (silent, live) if rig.row(h).lease_owner == "killed")
        busy_row = next(h for h in (silent, live) if h != killed_row)
        assert await job.run_once() == 1  # 56 s before the lease would end
        assert rig.row(killed_row).state != "in_flight"
        assert (rig.row(busy_row).state, rig.row(busy_row).lease_owner) == ("in_flight", "busy")
        with ctx.db.write() as conn:  # the dead worker's late answer lands nowhere
            assert not store.settle(conn, rig.row(killed_row).id, "killed", {"state": "failed"})
        assert await rig.job.run_once() == 0  # without dead_after: only the lease's end
    finally:
        await job.fetch.close()  # type: ignore[attr-defined]


async def test_a_silent_worker_is_not_forgotten_while_it_holds_a_notification(
    ctx: Context, rig: Rig, clock: FakeClock
) -> None:
    """The delivery reclaim, which runs every worker round, deletes the rows of workers
    silent for ``dead_after``; if it got there before SurveyCake's job, the dead
    worker's notification waited for its lease to end (the kill test timed out now and
    then). Its row stays while it holds a notification."""
    answer_hash = rig.submit()
    with ctx.db.write() as conn:
        workers.beat(conn, "killed", clock.now)
        store.claim(
            conn,
            owner="killed",
            now=clock.now,
            lease_until=clock.now + timedelta(seconds=60),
            limit=1,
        )
    job = new_job(ctx, name="job-b", dead_after=timedelta(seconds=3))
    try:
        clock.advance(seconds=4)
        ctx.queue.reclaim_expired(clock.now, dead_after=timedelta(seconds=3), alive="job-b")
        assert await job.run_once() == 1  # 56 s before the lease would end
        assert rig.row(answer_hash).state == "published"
        ctx.queue.reclaim_expired(clock.now, dead_after=timedelta(seconds=3), alive="job-b")
        with ctx.db.read() as conn:  # holding nothing now: forgotten
            assert workers.alive(conn, clock.now - timedelta(days=1)) == 0
    finally:
        await job.fetch.close()  # type: ignore[attr-defined]


async def test_the_query_api_is_fetched_behind_the_ssrf_guard(ctx: Context, rig: Rig) -> None:
    answer_hash = rig.submit()
    guarded = SurveyCakeFetcher(allowed_networks=(), total_timeout=5)  # loopback not allowed
    job = SurveyCakeJob(ctx, guarded, name="job-guarded", settings=JobSettings(backoff_base=0))
    await job.run_until_idle()
    await guarded.close()
    row = rig.row(answer_hash)
    assert (row.state, row.error, row.attempts) == ("failed", "fetch_failed", 1)
    assert "loopback" in row.error_detail and rig.fake.queries == []


async def test_settled_notifications_are_forgotten_after_the_retention(
    rig: Rig, clock: FakeClock
) -> None:
    kept = rig.submit(demo_answer(line_uid=None, svid=SVID))
    await rig.job.run_until_idle()
    clock.advance(days=29)
    waiting = rig.submit()  # newer: stays
    rig.fake.faults[waiting] = ["500"] * 3
    await rig.job.run_once()
    clock.advance(days=2)
    await rig.job.run_once()
    with rig.ctx.db.read() as conn:
        hashes = set(conn.execute(select(surveycake_notifications.c.answer_hash)).scalars())
    assert kept not in hashes and waiting in hashes


async def test_a_key_rotation_reseals_the_survey_keys_and_the_intake_token(rig: Rig) -> None:
    """``hookline admin rotate-key`` sees SurveyCake's sealed columns (store.sealed)."""
    new = SecretBox("a brand new server key")
    done = keys.rotate_key(rig.ctx.db, rig.ctx.box, new)
    assert done.resealed == 2  # the survey's keys and the intake token
    rotated = replace(rig.ctx, box=new)
    keys.check_key(rotated.db, new, "the test")
    assert surveycake.intake_path(rotated, rig.platform_id).endswith(rig.token)
    job = SurveyCakeJob(rotated, rig.job.fetch, name="job-rotated")
    answer_hash = rig.submit()
    await job.run_until_idle()
    assert rig.row(answer_hash).state == "published"
