"""Templates' LINE messages: placeholders, the tracking rewrite, and the request budget."""

from __future__ import annotations

from typing import Any

from hookline.domain.line_messages import Tracked, check_messages, clean_params, fill, placeholders
from hookline.domain.ratelimit import RateLimiter

IMG = "https://cdn.example.com/{{season}}.png"


def flex(uri: str) -> dict[str, Any]:
    return {
        "type": "flex",
        "altText": "Sale",
        "contents": {
            "type": "bubble",
            "hero": {"type": "image", "url": IMG, "action": {"type": "uri", "uri": uri}},
        },
    }


def imagemap() -> dict[str, Any]:
    return {
        "type": "imagemap",
        "baseUrl": "https://cdn.example.com/map",
        "altText": "Map",
        "baseSize": {"width": 1040, "height": 1040},
        "actions": [
            {"type": "uri", "linkUri": "https://shop.example.com/", "area": {"x": 0, "y": 0}},
            {"type": "message", "text": "hi", "area": {"x": 0, "y": 0}},
        ],
    }


def test_placeholders_are_filled_inside_strings_only() -> None:
    messages = [{"type": "text", "text": 'Hi {{ name }}, "{{code}}"'}]
    assert placeholders(messages) == {"name", "code"}
    filled = fill(messages, {"name": 'x", "type": "image', "code": "{{name}}"})
    assert filled == [{"type": "text", "text": 'Hi x", "type": "image, "{{name}}"'}]


def test_every_image_and_uri_action_is_replaced_by_its_slot() -> None:
    messages = fill([flex("https://shop.example.com/a"), imagemap()], {"season": "winter"})
    tracked = Tracked.of(messages, lambda n: f"open/{n}", lambda n: f"click/{n}")
    assert tracked.images == [
        "https://cdn.example.com/winter.png",
        "https://cdn.example.com/map",
    ]
    assert tracked.links == ["https://shop.example.com/a", "https://shop.example.com/"]
    hero = tracked.messages[0]["contents"]["hero"]
    assert (hero["url"], hero["action"]["uri"]) == ("open/0", "click/0")
    assert tracked.messages[1]["baseUrl"] == "open/1"
    assert tracked.messages[1]["actions"][0]["linkUri"] == "click/1"
    assert tracked.messages[1]["actions"][1] == messages[1]["actions"][1]
    assert messages[0]["contents"]["hero"]["url"] == "https://cdn.example.com/winter.png"


def test_a_text_message_alone_cannot_be_tracked() -> None:
    found = check_messages([{"type": "text", "text": "hi"}])
    assert [e.code for e in found] == ["cannot_be_tracked"]
    assert check_messages([flex("https://x.example.com/")]) == []
    assert check_messages([imagemap()]) == []


def test_line_breaks_are_text_but_controls_are_not() -> None:
    ok = [{"type": "text", "text": "a\nb\tc"}, imagemap()]
    assert check_messages(ok) == []
    bad = [{"type": "text", "text": "a\x1bb"}, imagemap()]
    assert [e.field for e in check_messages(bad)] == ["messages[0].text"]


def test_parameters_are_strings_or_finite_numbers() -> None:
    values, errors = clean_params({"a": "x", "b": 2, "c": 1.5, "d": True, "e": None, "f": "\x00"})
    assert values == {"a": "x", "b": "2", "c": "1.5"}
    assert sorted(e.field for e in errors) == ["data.d", "data.e", "data.f"]


def test_the_budget_is_per_key_and_per_second() -> None:
    now = [10.5]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(4)] == [None, None, None, 1]
    assert limiter.take("b") is None
    now[0] = 11.0
    assert limiter.take("a") is None
