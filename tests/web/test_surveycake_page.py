"""The SurveyCake page of the dashboard, in both languages, over a real app and database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import given
from sqlalchemy import delete, select

from hookline.devtools.fake_surveycake import FakeSurveyCake, demo_answer
from hookline.dispatch.surveycake_fetch import SurveyCakeFetcher
from hookline.domain.models import Role
from hookline.services import surveycake, users
from hookline.services.context import Context
from hookline.services.surveycake_job import JobSettings, SurveyCakeJob
from hookline.store.tables import surveycake_surveys
from tests.conftest import FakeClock
from tests.support.hostile import hostile_text, unportable_text
from tests.web.conftest import PASSWORD, Dashboard, english_ui_words, make_platform
from tests.web.test_hostile_forms import BOUNDED, submit

ZH = {"Accept-Language": "zh-TW"}
TERMS = ("Hash key", "IV key", "svid", "yPZQe")  # SurveyCake's own words, kept as it shows them
KEY, IV = "0123456789abcdef", "fedcba9876543210"


@pytest.fixture
def fake() -> Iterator[FakeSurveyCake]:
    with FakeSurveyCake().running() as f:
        yield f


def connect(dashboard: Dashboard, base_url: str = "", **form: str) -> httpx.Response:
    data = {
        "svid": "yPZQe",
        "name": "會員調查",
        "hash_key": KEY,
        "iv_key": IV,
        "base_url": base_url,
    }
    return dashboard.post("/surveycake/surveys", {**data, **form}, page="/surveycake")


def run_job(ctx: Context) -> None:
    async def work() -> None:
        fetcher = SurveyCakeFetcher(allowed_networks=ctx.allowed_networks, total_timeout=5)
        await SurveyCakeJob(ctx, fetcher, name="t", settings=JobSettings()).run_until_idle()
        await fetcher.close()

    asyncio.run(work())


def test_a_survey_is_connected_from_the_page_and_its_keys_never_shown(
    dashboard: Dashboard, ctx: Context
) -> None:
    page = dashboard.client.get("/surveycake").text
    intake = surveycake.intake_path(ctx, dashboard.platform_id)
    assert f'value="http://testserver{intake}"' in page and 'id="no-surveys"' in page
    r = connect(dashboard)
    assert r.status_code == 303 and r.headers["location"] == "/surveycake?notice=connected"
    page = dashboard.client.get("/surveycake?notice=connected").text
    assert 'data-svid="yPZQe"' in page and "會員調查" in page and "The survey is connected" in page
    assert KEY not in page and IV not in page
    r = dashboard.post("/surveycake/surveys/yPZQe/delete", page="/surveycake")
    assert r.status_code == 303
    with ctx.db.read() as conn:
        assert conn.execute(select(surveycake_surveys)).all() == []


def test_bad_fields_are_named_beside_them_in_chinese_and_keys_not_echoed(
    dashboard: Dashboard, ctx: Context
) -> None:
    dashboard.client.headers.update(ZH)
    r = connect(dashboard, svid="../x", hash_key="short", iv_key=IV)
    assert r.status_code == 422
    assert 'id="svid-error"' in r.text and "英數字" in r.text
    assert 'id="hash_key-error"' in r.text and "16 個字元" in r.text
    assert IV not in r.text and 'value="../x"' in r.text
    assert english_ui_words(r.text, "../x", dashboard.email, *TERMS) == set()
    r = connect(dashboard)
    assert r.status_code == 303
    again = connect(dashboard)
    assert again.status_code == 422 and "已經串接" in again.text


def test_a_form_without_its_csrf_token_changes_nothing(dashboard: Dashboard, ctx: Context) -> None:
    r = dashboard.client.post(
        "/surveycake/surveys",
        data={"svid": "yPZQe", "hash_key": KEY, "iv_key": IV},
        follow_redirects=False,
    )
    assert r.status_code == 403
    with ctx.db.read() as conn:
        assert conn.execute(select(surveycake_surveys)).all() == []


def test_failures_unlinked_answers_and_the_key_check(
    dashboard: Dashboard, ctx: Context, fake: FakeSurveyCake
) -> None:
    fake.add_survey("yPZQe", KEY, IV)
    assert connect(dashboard, base_url=fake.base_url).status_code == 303
    token = surveycake.intake_path(ctx, dashboard.platform_id).rsplit("/", 1)[1]
    page = dashboard.post("/surveycake/surveys/yPZQe/check", page="/surveycake")
    assert "has no answer to check the keys against yet" in page.text
    unlinked = fake.submit("yPZQe", demo_answer(None, svid="yPZQe"))
    surveycake.receive(ctx, token, "yPZQe", unlinked)
    page = dashboard.post("/surveycake/surveys/yPZQe/check", page="/surveycake")
    assert "The keys of yPZQe open SurveyCake" in page.text
    fake.add_survey("yPZQe", "x" * 16, "y" * 16)  # SurveyCake's keys changed
    broken = fake.submit("yPZQe", demo_answer(svid="yPZQe"))
    surveycake.receive(ctx, token, "yPZQe", broken)
    run_job(ctx)
    page = dashboard.client.get("/surveycake", headers=ZH).text
    assert f'<code class="url">{unlinked}</code>' in page and "未連結 LINE 好友" in page
    assert f'<code class="url">{broken}</code>' in page and "金鑰錯誤" in page
    assert english_ui_words(page, dashboard.email, unlinked, broken, fake.base_url, *TERMS) == set()
    page = dashboard.post("/surveycake/surveys/yPZQe/check", page="/surveycake")
    assert "The keys of yPZQe do not open" in page.text


def test_members_see_only_their_platforms_surveys(
    dashboard: Dashboard, ctx: Context, clock: FakeClock
) -> None:
    other = make_platform(ctx, clock, name="Tea")
    surveycake.connect_survey(ctx, other, svid="theirs", hash_key=KEY, iv_key=IV)
    page = dashboard.client.get("/surveycake").text
    assert "theirs" not in page
    r = dashboard.post("/surveycake/surveys/theirs/delete", page="/surveycake")
    assert r.status_code == 404
    assert surveycake.get_survey(ctx, other, "theirs").svid == "theirs"
    users.create_user(
        ctx, email="tom@tea.example", password=PASSWORD, role=Role.MEMBER, platform_id=other
    )
    assert surveycake.intake_path(ctx, other) not in page


@BOUNDED
@given(svid=hostile_text, name=hostile_text, key=hostile_text, url=hostile_text)
def test_hostile_text_in_the_surveycake_forms(
    dashboard: Dashboard, ctx: Context, svid: str, name: str, key: str, url: str
) -> None:
    client = dashboard.client
    fields = {"svid": svid, "name": name, "hash_key": key, "iv_key": IV, "base_url": url}
    r = submit(client, "/surveycake", "/surveycake/surveys", fields)
    if len(key) >= 12 and key.isprintable() and key not in (svid, name, url):
        assert key not in r.text  # a key typed is never shown back, even beside an error
    part = quote_from_bytes(svid[:200].encode("utf-8", "surrogatepass"), safe="")
    for path in ("/surveycake/surveys/{}/delete", "/surveycake/surveys/{}/check"):
        submit(client, "/surveycake", path.format(part), {})
    assert unportable_text(ctx.db) == []
    with ctx.db.write() as conn:  # the next example starts from no survey
        conn.execute(delete(surveycake_surveys))
