"""The topic catalog against MAAC's documented topics and fields.

The expected names, zones and fields are written out here from the spec
(shared/spec/maac-wire.md) rather than read back from the catalog, so a drifting schema
fails a test instead of silently redefining the wire format.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import FrozenInstanceError
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from hookline import catalog
from hookline.catalog import TOPICS, ZONES, Topic, get_topic, topics_in_zone, validate_data
from hookline.catalog import topics as topics_module

ZONE_1 = (
    "receipt.receipt_validated",
    "form.surveycake_submitted",
    "pnp.status_updated",
    "pnp.profile_updated",
    "prize.points_added",
)
ZONE_2 = ("message.first_open",)

# Top-level `data` fields per topic, True where the spec marks the field nullable.
SPEC_FIELDS: dict[str, dict[str, bool]] = {
    "receipt.receipt_validated": {
        "line_uid": False,
        "customer_id": True,
        "campaign_name": True,
        "number": False,
        "datetime": False,
        "upload_datetime": False,
        "random_number": False,
        "channel": False,
        "items": False,
    },
    "form.surveycake_submitted": {
        "line_uid": False,
        "customer_id": True,
        "survey_name": True,
        "answer_hash": False,
        "answer": False,
    },
    "pnp.status_updated": {
        "pnp_setting_id": False,
        "pnp_setting_name": False,
        "pnp_message_id": False,
        "event_id": False,
        "customized_id": True,
        "phone_number": False,
        "status": False,
        "line_push_template_id": True,
        "line_push_status": True,
        "line_push_delivered_at": True,
        "line_push_error_category": True,
        "pnp_status": True,
        "pnp_delivered_at": True,
        "sms_status": True,
        "sms_delivered_at": True,
        "sms_error_category": True,
    },
    "pnp.profile_updated": {
        "pnp_setting_id": False,
        "pnp_setting_name": False,
        "phone_number": False,
        "source": False,
        "line_uid": False,
        "customer_id": True,
    },
    "prize.points_added": {
        "prize_name": False,
        "points_id": False,
        "points_category": True,
        "line_uid": False,
        "customer_id": False,
        "points_memo": False,
        "points_count": False,
        "points_expire_date": True,
    },
    "message.first_open": {
        "message_type": False,
        "message_id": False,
        "line_uid": False,
        "customer_id": True,
    },
}

# Nested objects: (topic, path to the object schema through "properties"/"items").
NESTED_REQUIRED = [
    (
        "receipt.receipt_validated",
        ("items", "items"),
        {"description", "unit_price", "quantity", "amount"},
    ),
    (
        "form.surveycake_submitted",
        ("answer",),
        {"id", "svid", "title", "status", "submitTime", "mbunq", "mbrid", "meta", "alias"}
        | {"result"},
    ),
    (
        "form.surveycake_submitted",
        ("answer", "result", "items"),
        {"subject", "type", "sn", "label", "alias", "answer", "otherAnswer", "answerLabel"}
        | {"answerAlias"},
    ),
]

PNP_STATUSES = {
    "line_push_preparing",
    "line_push_delivered",
    "line_push_failed",
    "line_push_undeliverable",
    "pnp_preparing",
    "pnp_accepted",
    "pnp_delivered",
    "pnp_failed",
    "pnp_undeliverable",
    "sms_preparing",
    "sms_accepted",
    "sms_delivered",
    "sms_failed",
    "sms_undeliverable",
    "sms_blocked",
    "sms_temporary_error",
    "sms_callback_timeout",
}

ENUMS = [
    ("pnp.status_updated", "status", PNP_STATUSES),
    (
        "pnp.status_updated",
        "line_push_error_category",
        {"member_not_found", "reach_monthly_limit", "others", None},
    ),
    (
        "pnp.status_updated",
        "sms_error_category",
        {"target_reception_issue", "invalid_phone_number", "sensitive_words", "others", None},
    ),
    ("pnp.profile_updated", "source", {"pnp", "sms"}),
    ("message.first_open", "message_type", {"broadcast", "openapi"}),
]

DELETE = object()

# (topic, where in the sample, new value or DELETE, the path the error must name)
BROKEN_SAMPLES: list[tuple[str, tuple[str | int, ...], object, str]] = [
    ("receipt.receipt_validated", ("number",), DELETE, "$.number"),
    ("receipt.receipt_validated", ("items", 0, "quantity"), "x", "$.items[0].quantity"),
    ("receipt.receipt_validated", ("items", 1, "amount"), DELETE, "$.items[1].amount"),
    ("receipt.receipt_validated", ("items",), {"description": "綠茶"}, "$.items"),
    ("receipt.receipt_validated", ("random_number",), "58210", "$.random_number"),
    ("receipt.receipt_validated", ("datetime",), "昨天晚上", "$.datetime"),
    ("receipt.receipt_validated", ("line_uid",), "U" + "A" * 32, "$.line_uid"),
    ("receipt.receipt_validated", ("line_uid",), "U" + "a" * 31, "$.line_uid"),
    ("receipt.receipt_validated", ("customer_id",), 12345, "$.customer_id"),
    ("form.surveycake_submitted", ("answer",), [], "$.answer"),
    ("form.surveycake_submitted", ("answer", "svid"), DELETE, "$.answer.svid"),
    ("form.surveycake_submitted", ("answer", "id"), "128734", "$.answer.id"),
    ("form.surveycake_submitted", ("answer", "submitTime"), "2026/11/28", "$.answer.submitTime"),
    (
        "form.surveycake_submitted",
        ("answer", "alias", "maac_member_name"),
        "王小明",
        "$.answer.alias.maac_member_name",
    ),
    (
        "form.surveycake_submitted",
        ("answer", "alias", "favourite_store"),
        [1],
        "$.answer.alias.favourite_store[0]",
    ),
    (
        "form.surveycake_submitted",
        ("answer", "result", 0, "answer"),
        "王小明",
        "$.answer.result[0].answer",
    ),
    (
        "form.surveycake_submitted",
        ("answer", "result", 3, "answerAlias"),
        DELETE,
        "$.answer.result[3].answerAlias",
    ),
    ("pnp.status_updated", ("status",), "delivered", "$.status"),
    ("pnp.status_updated", ("line_push_error_category",), "blocked", "$.line_push_error_category"),
    ("pnp.status_updated", ("sms_error_category",), "spam", "$.sms_error_category"),
    ("pnp.status_updated", ("phone_number",), "0912345678", "$.phone_number"),
    ("pnp.status_updated", ("event_id",), "5521", "$.event_id"),
    ("pnp.status_updated", ("pnp_message_id",), DELETE, "$.pnp_message_id"),
    ("pnp.profile_updated", ("source",), "email", "$.source"),
    ("prize.points_added", ("points_count",), "200", "$.points_count"),
    ("prize.points_added", ("points_count",), True, "$.points_count"),
    ("prize.points_added", ("points_expire_date",), "明年底", "$.points_expire_date"),
    ("message.first_open", ("message_type",), "push", "$.message_type"),
    ("message.first_open", ("message_id",), None, "$.message_id"),
]


def sample_copy(name: str) -> dict[str, Any]:
    return copy.deepcopy(dict(TOPICS[name].sample))


def paths(errors: list[tuple[str, str]]) -> list[str]:
    return [path for path, _ in errors]


def subschema(schema: Mapping[str, Any], steps: tuple[str, ...]) -> Mapping[str, Any]:
    node = schema
    for step in steps:
        node = node[step] if step == "items" and "items" in node else node["properties"][step]
    return node


def walk_properties(schema: Mapping[str, Any], at: str = "$") -> Iterator[tuple[str, Any]]:
    for key, prop in schema.get("properties", {}).items():
        yield f"{at}.{key}", prop
        yield from walk_properties(prop, f"{at}.{key}")
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield from walk_properties(items, f"{at}[]")
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        yield f"{at}.*", extra


def test_zones_and_topic_names_follow_the_spec() -> None:
    # zone 3 (Open API push with parameters) is sold like the others but holds no topic
    assert ZONES == (1, 2, 3)
    assert list(TOPICS) == [*ZONE_1, *ZONE_2]
    assert [t.name for t in topics_in_zone(1)] == list(ZONE_1)
    assert [t.name for t in topics_in_zone(2)] == list(ZONE_2)
    assert topics_in_zone(3) == []
    assert all(TOPICS[name].name == name for name in TOPICS)


def test_get_topic_finds_known_names_only() -> None:
    assert get_topic("message.first_open") is TOPICS["message.first_open"]
    assert get_topic("message.first_opened") is None
    assert get_topic("") is None


def test_the_package_exports_its_public_surface() -> None:
    assert set(catalog.__all__) == {
        "TOPICS",
        "ZONES",
        "Topic",
        "get_topic",
        "topics_in_zone",
        "validate_data",
    }


def test_topics_are_immutable() -> None:
    topic = TOPICS["receipt.receipt_validated"]
    with pytest.raises(FrozenInstanceError):
        topic.zone = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        TOPICS["x"] = topic  # type: ignore[index]


@pytest.mark.parametrize("name", list(TOPICS))
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = TOPICS[name].schema
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:hookline:topic:{name}"
    assert schema["title"]
    assert schema["description"] == TOPICS[name].describe("en")
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is True


@pytest.mark.parametrize("name", list(TOPICS))
def test_sample_validates_and_survives_json(name: str) -> None:
    topic = TOPICS[name]
    assert validate_data(topic, topic.sample) == []
    assert json.loads(json.dumps(topic.sample)) == topic.sample
    json.dumps(topic.schema)


@pytest.mark.parametrize("name", list(TOPICS))
def test_required_lists_exactly_the_spec_fields(name: str) -> None:
    schema = TOPICS[name].schema
    assert set(schema["required"]) == set(SPEC_FIELDS[name])
    assert set(schema["properties"]) == set(SPEC_FIELDS[name])


@pytest.mark.parametrize(("name", "steps", "fields"), NESTED_REQUIRED)
def test_nested_objects_require_the_spec_fields(
    name: str, steps: tuple[str, ...], fields: set[str]
) -> None:
    node = subschema(TOPICS[name].schema, steps)
    assert node["type"] == "object"
    assert set(node["required"]) == fields


@pytest.mark.parametrize("name", list(TOPICS))
def test_every_property_has_a_description(name: str) -> None:
    found = list(walk_properties(TOPICS[name].schema))
    assert len(found) >= len(SPEC_FIELDS[name])
    missing = [path for path, prop in found if not prop.get("description")]
    assert missing == []


@pytest.mark.parametrize(("name", "field", "values"), ENUMS)
def test_enums_list_exactly_the_spec_values(name: str, field: str, values: set[Any]) -> None:
    assert set(TOPICS[name].schema["properties"][field]["enum"]) == values


@pytest.mark.parametrize(
    ("name", "field"),
    [(name, field) for name, fields in SPEC_FIELDS.items() for field in fields],
)
def test_removing_a_spec_field_is_an_error_at_that_field(name: str, field: str) -> None:
    data = sample_copy(name)
    del data[field]
    errors = validate_data(TOPICS[name], data)
    assert errors == [(f"$.{field}", f"'{field}' is a required property")]


@pytest.mark.parametrize(
    ("name", "field", "nullable"),
    [(name, field, null) for name, fields in SPEC_FIELDS.items() for field, null in fields.items()],
)
def test_only_nullable_fields_accept_null(name: str, field: str, nullable: bool) -> None:
    data = sample_copy(name)
    data[field] = None
    errors = validate_data(TOPICS[name], data)
    if nullable:
        assert errors == []
    else:
        assert set(paths(errors)) == {f"$.{field}"}


@pytest.mark.parametrize(("name", "where", "value", "expected_path"), BROKEN_SAMPLES)
def test_a_broken_sample_names_the_broken_field(
    name: str, where: tuple[str | int, ...], value: object, expected_path: str
) -> None:
    data = sample_copy(name)
    parent: Any = data
    for step in where[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    errors = validate_data(TOPICS[name], data)
    assert errors, "the broken sample still validates"
    assert paths(errors) == [expected_path]
    assert all(message for _, message in errors)


def test_message_names_what_is_wrong() -> None:
    data = sample_copy("receipt.receipt_validated")
    data["items"][0]["quantity"] = "x"
    assert validate_data(TOPICS["receipt.receipt_validated"], data) == [
        ("$.items[0].quantity", "'x' is not of type 'number'")
    ]


@pytest.mark.parametrize("data", ["{}", 3, None, [], ["line_uid"], True])
def test_a_non_object_is_one_error_at_the_root(data: object) -> None:
    errors = validate_data(TOPICS["message.first_open"], data)
    assert len(errors) == 1
    assert errors[0][0] == "$"
    assert "is not of type 'object'" in errors[0][1]


def test_unknown_top_level_fields_are_allowed() -> None:
    data = sample_copy("message.first_open")
    data["opened_at"] = "2026-11-28T15:43:26+08:00"
    assert validate_data(TOPICS["message.first_open"], data) == []


def test_iso_timestamps_with_microseconds_and_offsets_are_date_times() -> None:
    data = sample_copy("receipt.receipt_validated")
    data["datetime"] = "2026-11-28T15:43:26.582968+08:00"
    data["upload_datetime"] = "2026-11-28T07:43:26Z"
    assert validate_data(TOPICS["receipt.receipt_validated"], data) == []


def test_errors_are_all_reported_in_a_stable_order() -> None:
    data = sample_copy("receipt.receipt_validated")
    item = data["items"][0]
    data["items"] = [copy.deepcopy(item) for _ in range(11)]
    data["items"][10]["amount"] = "65"
    data["items"][2]["amount"] = "65"
    del data["line_uid"]
    data["channel"] = 7
    errors = validate_data(TOPICS["receipt.receipt_validated"], data)
    assert paths(errors) == ["$.channel", "$.items[2].amount", "$.items[10].amount", "$.line_uid"]
    assert validate_data(TOPICS["receipt.receipt_validated"], data) == errors


def test_keys_that_are_not_identifiers_are_bracketed() -> None:
    topic = Topic(
        name="test.odd_keys",
        zone=1,
        schema={
            "type": "object",
            "properties": {"store name": {"type": "string"}, "it's": {"type": "string"}},
        },
        sample={},
        description={"en": "x"},
    )
    errors = validate_data(topic, {"store name": 1, "it's": 2})
    assert paths(errors) == ["$['it\\'s']", "$['store name']"]


def test_each_validator_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real = Draft202012Validator

    def counting(*args: Any, **kwargs: Any) -> Draft202012Validator:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(topics_module, "Draft202012Validator", counting)
    topic = Topic(
        name="receipt.receipt_validated",
        zone=1,
        schema={"type": "object", "required": ["a"]},
        sample={"a": 1},
        description={"en": "x"},
    )
    assert validate_data(topic, {"a": 1}) == []
    assert validate_data(topic, {}) == [("$.a", "'a' is a required property")]
    assert len(built) == 1
    # The catalog topic of the same name gets its own validator, not the one above.
    catalog_topic = TOPICS["receipt.receipt_validated"]
    assert validate_data(catalog_topic, {"a": 1}) != []
    assert validate_data(catalog_topic, catalog_topic.sample) == []


@pytest.mark.parametrize("name", list(TOPICS))
def test_descriptions_exist_in_english_and_traditional_chinese(name: str) -> None:
    topic = TOPICS[name]
    assert set(topic.description) == {"en", "zh-TW"}
    for text in topic.description.values():
        assert text.strip() and "\n" not in text
    assert topic.describe("en") == topic.description["en"]
    assert topic.describe("zh-TW") == topic.description["zh-TW"]
    assert topic.describe("zh-TW") != topic.describe("en")


def test_describe_falls_back_to_english() -> None:
    topic = TOPICS["receipt.receipt_validated"]
    english = "A receipt uploaded by a LINE friend passed validation in a receipt campaign."
    assert topic.describe("en") == english
    assert topic.describe("zh-TW") == "LINE 好友上傳的發票通過發票登錄活動的驗證。"
    assert topic.describe("zh-tw") == topic.describe("zh-TW")
    assert topic.describe("ja") == english
    assert topic.describe("") == english


def test_samples_look_like_taiwanese_line_marketing_data() -> None:
    receipt = TOPICS["receipt.receipt_validated"].sample
    assert receipt["number"] == "AB12345678"
    assert receipt["channel"] == "全家便利商店"
    assert all(isinstance(item["unit_price"], float) for item in receipt["items"])
    assert TOPICS["pnp.status_updated"].sample["phone_number"] == "+886912345678"
    answer = TOPICS["form.surveycake_submitted"].sample["answer"]
    assert {"maac_member_line_uid", "maac_member_name"} <= set(answer["alias"])
    assert answer["alias"]["maac_member_line_uid"] == [
        TOPICS["form.surveycake_submitted"].sample["line_uid"]
    ]
    assert receipt["upload_datetime"].endswith("+08:00")


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(TOPICS)),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(
        ["drop", "null", "number", "string", "bool", "list", "bad-uid", "nested", "none"]
    ),
)
def test_the_fast_check_agrees_with_jsonschema(topic: str, seed: int, mutation: str) -> None:
    """The compiled fast path never accepts what jsonschema, the authority, refuses."""
    import random

    from hookline.catalog.topics import _validator, is_valid_data
    from hookline.devtools.fake import fake_data

    rng = random.Random(seed)
    data: dict[str, object] = fake_data(topic, rng)
    key = rng.choice(sorted(data))
    nested = [k for k, v in data.items() if isinstance(v, (dict, list)) and v]
    if mutation == "nested" and nested:
        inner: Any = data[rng.choice(nested)]
        inner = inner[0] if isinstance(inner, list) else inner
        if isinstance(inner, dict) and inner:
            inner[rng.choice(sorted(inner))] = rng.choice([None, "x", 1, [], {}])
    elif mutation == "drop":
        del data[key]
    elif mutation not in ("none", "nested"):
        data[key] = {
            "null": None,
            "number": rng.choice([0, 1.5, -3]),
            "string": "x",
            "bool": True,
            "list": [1, "a"],
            "bad-uid": "U123",
        }[mutation]
    authority = not list(_validator(TOPICS[topic]).iter_errors(data))
    assert is_valid_data(TOPICS[topic], data) == authority
