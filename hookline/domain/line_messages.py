"""LINE message objects in templates: their shapes, ``{{param}}`` placeholders, tracking.

A template holds LINE Messaging API message objects (text, image, imagemap, flex) as
LINE documents them. Placeholders are filled inside each JSON string after parsing,
never in the JSON text, so a value can never change a message's structure. Before a
push, every image URL and every URI action is replaced by a per-recipient hookline URL:
the first fetch of an image is that friend's open, a redirect counts a click. A
template with no image could not be tracked, so it is refused when it is saved.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hookline.domain.errors import FieldError
from hookline.domain.text import text_refusal

MESSAGE_TYPES = ("text", "image", "imagemap", "flex")
MAX_MESSAGES = 5  # LINE's limit per push
MAX_TEXT = 5000
MAX_URL = 2000
MAX_ALT_TEXT = 1500
MAX_PARAM_VALUE = 2000
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
"""Refused in message strings: controls and bidi overrides, but not the line breaks and
tabs a LINE text message may hold."""
_IMAGE_KEYS = {"image": ("originalContentUrl", "previewImageUrl"), "imagemap": ("baseUrl",)}


def _url_error(path: str, value: Any) -> FieldError | None:
    if not isinstance(value, str) or not value:
        return FieldError(path, "required", f"{path} must be a URL string.")
    if len(value) > MAX_URL:
        return FieldError(path, "too_long", f"{path} must be at most {MAX_URL} characters.")
    if PLACEHOLDER.search(value) is None and not value.startswith(("https://", "http://")):
        return FieldError(path, "invalid_url", f"{path} must be an absolute https:// URL.")
    return None


def _text_error(path: str, value: Any, limit: int) -> FieldError | None:
    if not isinstance(value, str) or not value:
        return FieldError(path, "required", f"{path} must be a non-empty string.")
    if len(value) > limit:
        return FieldError(path, "too_long", f"{path} must be at most {limit} characters.")
    return None


def _message_errors(path: str, message: Any) -> list[FieldError]:
    """The fields LINE requires of each message type, checked as LINE documents them."""
    if not isinstance(message, dict):
        return [FieldError(path, "not_an_object", f"{path} must be a LINE message object.")]
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        allowed = ", ".join(MESSAGE_TYPES)
        return [
            FieldError(f"{path}.type", "unknown_type", f"{path}.type must be one of {allowed}.")
        ]
    found: list[FieldError | None] = []
    if kind == "text":
        found.append(_text_error(f"{path}.text", message.get("text"), MAX_TEXT))
    for key in _IMAGE_KEYS.get(kind, ()):
        found.append(_url_error(f"{path}.{key}", message.get(key)))
    if kind in ("imagemap", "flex"):
        found.append(_text_error(f"{path}.altText", message.get("altText"), MAX_ALT_TEXT))
    if kind == "imagemap":
        size = message.get("baseSize")
        if not (isinstance(size, dict) and size.get("width") == 1040):
            found.append(
                FieldError(
                    f"{path}.baseSize",
                    "invalid",
                    f"{path}.baseSize must be {{width: 1040, height}}.",
                )
            )
        if not isinstance(message.get("actions"), list):
            found.append(
                FieldError(f"{path}.actions", "required", f"{path}.actions must be a list.")
            )
    if kind == "flex":
        contents = message.get("contents")
        if not (isinstance(contents, dict) and contents.get("type") in ("bubble", "carousel")):
            found.append(
                FieldError(
                    f"{path}.contents",
                    "invalid",
                    f"{path}.contents must be a flex bubble or carousel object.",
                )
            )
    return [e for e in found if e is not None]


def _control_errors(path: str, node: Any) -> list[FieldError]:
    if isinstance(node, str):
        if _CONTROL.search(node) is None:
            return []
        reason = "contains a control or bidi-override character (line breaks and tabs are fine)."
        return [FieldError(path, "control_character", f"{path} {reason}")]
    if isinstance(node, dict):
        return [e for k, v in node.items() for e in _control_errors(f"{path}.{k}", v)]
    if isinstance(node, list):
        return [e for i, v in enumerate(node) for e in _control_errors(f"{path}[{i}]", v)]
    return []


def check_messages(messages: Any) -> list[FieldError]:
    """Why these messages cannot make a template (empty when they can)."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return [
            FieldError(
                "messages", "invalid", f"messages must be a list of 1 to {MAX_MESSAGES} objects."
            )
        ]
    errors = _control_errors("messages", messages)
    errors += [e for i, m in enumerate(messages) for e in _message_errors(f"messages[{i}]", m)]
    if not errors and not Tracked.of(messages).images:
        errors.append(
            FieldError(
                "messages",
                "cannot_be_tracked",
                "messages hold no image (an image, an imagemap or a flex image), so opens"
                " cannot be tracked: add one.",
            )
        )
    return errors


def placeholders(value: Any) -> set[str]:
    """Every ``{{name}}`` the messages use."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return {p for v in value.values() for p in placeholders(v)}
    if isinstance(value, list):
        return {p for v in value for p in placeholders(v)}
    return set()


def clean_params(data: Mapping[str, Any]) -> tuple[dict[str, str], list[FieldError]]:
    """The push's ``data`` as placeholder values: strings or finite numbers, safe text."""
    values: dict[str, str] = {}
    errors: list[FieldError] = []
    for key, raw in data.items():
        path = f"data.{key}" if text_refusal(key) is None else "data"
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            errors.append(FieldError(path, "invalid", f"{path} must be a string or a number."))
            continue
        if isinstance(raw, float) and not math.isfinite(raw):
            errors.append(FieldError(path, "not_finite", f"{path} must be a finite number."))
            continue
        value = raw if isinstance(raw, str) else str(raw)
        refusal = text_refusal(key) or text_refusal(value)
        if refusal is not None:
            errors.append(FieldError(path, refusal.code, refusal.message(path)))
        elif len(value) > MAX_PARAM_VALUE:
            errors.append(FieldError(path, "too_long", f"{path} is over {MAX_PARAM_VALUE} chars."))
        else:
            values[key] = value
    return values, errors


def fill(value: Any, values: Mapping[str, str]) -> Any:
    """The messages with every placeholder replaced (each must be in ``values``)."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


@dataclass
class Tracked:
    """Messages with tracking URLs, and the originals they stand for (by slot number)."""

    messages: list[Any] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        messages: list[Any],
        image_url: Callable[[int], str] = str,
        link_url: Callable[[int], str] = str,
    ) -> Tracked:
        """Replace image URLs by ``image_url(slot)`` and URI actions by ``link_url(slot)``."""
        tracked = cls()

        def image(original: str) -> str:
            tracked.images.append(original)
            return image_url(len(tracked.images) - 1)

        def link(original: str) -> str:
            tracked.links.append(original)
            return link_url(len(tracked.links) - 1)

        tracked.messages = [_walk(m, image, link, top=True) for m in messages]
        return tracked


def _walk(node: Any, image: Callable[[str], str], link: Callable[[str], str], top: bool) -> Any:
    if isinstance(node, list):
        return [_walk(v, image, link, False) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _walk(v, image, link, False) for k, v in node.items()}
    kind = node.get("type")
    keys: tuple[str, ...] = ()
    if top:
        keys = _IMAGE_KEYS.get(str(kind), ())
    elif kind == "image":  # a flex image component
        keys = ("url",)
    for key in keys:
        if isinstance(node.get(key), str):
            out[key] = image(node[key])
    if kind == "uri":
        for key in ("uri", "linkUri"):  # flex and template actions; imagemap actions
            if isinstance(node.get(key), str):
                out[key] = link(node[key])
    return out
