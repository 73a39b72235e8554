"""The dashboard's two languages: English and Traditional Chinese (Taiwan).

Every word a page shows comes from a catalog in ``locales/`` by key, so a page in
zh-TW never falls back to English: a key missing from one catalog fails the test
suite (tests/web/test_i18n.py), not a marketer. Error messages of the use cases are
English sentences for API clients; the dashboard translates them by their stable
``code`` instead of showing them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from string import Formatter
from typing import Any

LANGUAGES = ("en", "zh-TW")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "zh-TW": "繁體中文"}

PLURAL_RULES: dict[str, Callable[[int], str]] = {
    "en": lambda n: "one" if n == 1 else "other",
    "zh-TW": lambda _n: "other",
}
"""CLDR plural categories of each language, for the integers the dashboard counts.

A counted text is a key per category (``login.throttled.one``, ``.other``): English
says "1 second" but "2 seconds"; Chinese has one form, so it defines only ``.other``.
"""
PLURAL_FORMS = {"en": ("one", "other"), "zh-TW": ("other",)}
"""The categories each language's counted texts must define (tests/web/test_i18n.py)."""

LIST_SEPARATORS = {"en": ", ", "zh-TW": "、"}
"""How a short list of names is joined: Chinese uses the enumeration comma."""


@cache
def catalog(lang: str) -> dict[str, str]:
    """The flat ``key -> text`` table of one language, loaded once.

    A language is a folder of JSON files (one per area of the dashboard) so that
    areas can be translated separately; a key defined twice is an error.
    """
    merged: dict[str, str] = {}
    folder = resources.files("hookline.web").joinpath(f"locales/{lang}")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        part: dict[str, str] = json.loads(entry.read_text("utf-8"))
        twice = merged.keys() & part.keys()
        if twice:
            raise ValueError(f"locales/{lang}/{entry.name} redefines {sorted(twice)}")
        merged.update(part)
    return merged


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields a text expects; both languages must expect the same ones."""
    return {name for _, name, _, _ in Formatter().parse(text) if name}


class Translator:
    """``t("key", n=3)`` in one language; a missing key raises, it never shows the key."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}")
        self.lang = lang
        self._texts = catalog(lang)

    def __call__(self, key: str, **params: Any) -> str:
        text = self._texts[key]
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self._texts

    def plural(self, key: str, count: int, **params: Any) -> str:
        """The form of ``key`` this language uses for ``count``: ``key.one``, ``key.other``."""
        return self(f"{key}.{PLURAL_RULES[self.lang](count)}", **params)

    @property
    def separator(self) -> str:
        """What goes between the items of a list in this language (templates loop)."""
        return LIST_SEPARATORS[self.lang]

    def join(self, items: Iterable[str]) -> str:
        return self.separator.join(items)


def _match(tag: str) -> str | None:
    tag = tag.strip().lower()
    if not tag or tag == "*":
        return None
    if tag.startswith("zh"):
        # zh-TW, zh-Hant, zh-HK and plain zh all read Traditional best among ours;
        # zh-CN / zh-Hans readers are better served by English than by the wrong script.
        return None if ("cn" in tag or "hans" in tag or "sg" in tag) else "zh-TW"
    if tag.startswith("en"):
        return "en"
    return None


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The language of a request: the remembered choice, else the best Accept-Language."""
    if chosen in LANGUAGES:
        assert chosen is not None
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        lang = _match(tag)
        if lang is not None and quality > 0:
            ranked.append((-quality, position, lang))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
