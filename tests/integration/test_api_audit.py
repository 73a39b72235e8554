"""The audit log API: what is recorded, with who and from where; who may read what."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.conftest import OP, PlatformHandle, webhook_body
from tests.support.receiver import Receiver

UA = {"User-Agent": "audit-test/1.0"}


def audit(client: TestClient, headers: dict[str, str], **params: Any) -> list[Any]:
    r = client.get("/v1/audit", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def test_every_webhook_change_is_recorded_with_who_and_where(
    client: TestClient, platform: PlatformHandle, receiver: Receiver
) -> None:
    headers = platform.headers | UA
    r = client.post("/v1/webhooks", json=webhook_body(url=receiver.url()), headers=headers)
    hook = r.json()["id"]
    client.patch(f"/v1/webhooks/{hook}", json={"name": "Renamed"}, headers=headers)
    client.get(f"/v1/webhooks/{hook}/secret", headers=headers)
    client.post(f"/v1/webhooks/{hook}/secret/rotate", json={}, headers=headers)
    client.post(f"/v1/webhooks/{hook}/stop", headers=headers)
    client.post(f"/v1/webhooks/{hook}/resume", headers=headers)
    client.delete(f"/v1/webhooks/{hook}", headers=headers)

    entries = [e for e in audit(client, platform.headers) if e["target_id"] == hook]
    assert sorted(e["action"] for e in entries) == [
        "webhook.create",
        "webhook.delete",
        "webhook.resume",
        "webhook.secret.reveal",
        "webhook.secret.rotate",
        "webhook.stop",
        "webhook.update:name",
    ]
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    for e in entries:
        assert e["actor_kind"] == "platform_token" and e["ip"] and e["created_at"]
        assert e["user_agent"] == "audit-test/1.0" and e["platform_id"] == platform.id
    stops = audit(client, platform.headers, action="webhook.stop")
    assert [e["action"] for e in stops] == ["webhook.stop"]


def test_zone_and_limit_changes_are_recorded_for_the_operator(
    client: TestClient, platform: PlatformHandle
) -> None:
    r = client.patch(f"/v1/admin/platforms/{platform.id}", json={"webhook_limit": 5}, headers=OP)
    assert r.status_code == 200, r.text
    actions = [e["action"] for e in audit(client, platform.headers)]
    assert "platform.update:webhook_limit" in actions and "zone.set:1" in actions
    assert all(e["actor_kind"] == "operator" for e in audit(client, OP, action="zone"))


def test_a_platform_reads_only_its_own_entries_the_operator_all(
    client: TestClient, platform: PlatformHandle, make_platform: Any, receiver: Receiver
) -> None:
    other = make_platform()
    r = client.post("/v1/webhooks", json=webhook_body(url=receiver.url()), headers=other.headers)
    theirs = r.json()["id"]
    mine = audit(client, platform.headers)
    assert mine and all(e["platform_id"] == platform.id for e in mine)
    assert theirs not in {e["target_id"] for e in mine}
    r = client.get("/v1/audit", params={"platform_id": other.id}, headers=platform.headers)
    assert r.status_code == 404 and r.json()["code"] == "platform_not_found"
    everyone = {e["platform_id"] for e in audit(client, OP)}
    assert {platform.id, other.id} <= everyone
    narrowed = audit(client, OP, platform_id=other.id)
    assert narrowed and {e["platform_id"] for e in narrowed} == {other.id}
    assert client.get("/v1/audit", params={"platform_id": "pf_none"}, headers=OP).status_code == 404
    assert client.get("/v1/audit").status_code == 401


def test_paging_and_bad_filters(client: TestClient, platform: PlatformHandle) -> None:
    total = len(audit(client, OP, platform_id=platform.id))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, "platform_id": platform.id}
        if cursor:
            params["cursor"] = cursor
        r = client.get("/v1/audit", params=params, headers=OP).json()
        seen += [e["id"] for e in r["data"]]
        cursor = r["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == total
    bad: tuple[tuple[dict[str, Any], str], ...] = (
        ({"action": "a\x00"}, "action"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"cursor": "bogus"}, "cursor"),
        ({"limit": 500}, "limit"),
        ({"platform_id": "pf\x00"}, "platform_id"),
    )
    for query, field in bad:
        r = client.get("/v1/audit", params=query, headers=OP)
        assert r.status_code == 422, (query, r.text)
        assert r.json()["errors"][0]["field"] == field
