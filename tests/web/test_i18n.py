"""The two catalogs agree, and the language is chosen the way browsers expect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hookline.catalog import TOPICS
from hookline.web import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    en, zh = i18n.catalog("en"), i18n.catalog("zh-TW")
    assert en.keys() == zh.keys(), sorted(en.keys() ^ zh.keys())
    for key in en:
        assert i18n.placeholders(en[key]) == i18n.placeholders(zh[key]), key


def test_chinese_texts_are_chinese() -> None:
    """A zh-TW text without a single CJK character is almost surely left in English."""
    zh = i18n.catalog("zh-TW")
    allowed = {"app.name", "nav.webhooks", "list.title", "detail.id"}  # brand and product names
    untranslated = [k for k, text in zh.items() if k not in allowed and not CJK.search(text)]
    assert untranslated == []


def test_every_key_a_template_names_exists() -> None:
    en = i18n.catalog("en")
    static_keys = set()
    for template in TEMPLATES.rglob("*.html"):
        static_keys |= set(
            re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""", template.read_text())
        )
    assert static_keys, "the templates name no keys?"
    assert sorted(static_keys - en.keys()) == []


def test_every_topic_has_a_label_and_description() -> None:
    for lang in i18n.LANGUAGES:
        texts = i18n.catalog(lang)
        for name in TOPICS:
            assert f"topic.{name}" in texts and f"topic_desc.{name}" in texts


def test_templates_hold_no_bare_words() -> None:
    """Text between tags must come from t(): strip tags and expressions, nothing is left."""
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        text = re.sub(r"<(script|pre|code|svg|style)\b.*?</\1>", "", text, flags=re.S)
        text = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", "", text, flags=re.S)
        text = re.sub(r"<[^>]*>", "", text, flags=re.S)
        for word in re.findall(r"[A-Za-z]{3,}", text):
            offenders.append(f"{template.name}: {word}")
    assert offenders == []


@pytest.mark.parametrize(
    ("header", "chosen", "expected"),
    [
        (None, None, "en"),
        ("zh-TW,zh;q=0.9,en;q=0.8", None, "zh-TW"),
        ("zh-Hant", None, "zh-TW"),
        ("en-US,en;q=0.9,zh-TW;q=0.8", None, "en"),
        ("fr-FR, zh-tw;q=0.5", None, "zh-TW"),
        ("zh-CN", None, "en"),
        ("zh-TW", "en", "en"),
        ("en", "zh-TW", "zh-TW"),
        ("en", "klingon", "en"),
        ("zh-TW;q=0, en;q=0.1", None, "en"),
        ("garbage;q=abc", None, "en"),
    ],
)
def test_negotiation(header: str | None, chosen: str | None, expected: str) -> None:
    assert i18n.negotiate(header, chosen) == expected


def test_a_missing_key_raises_instead_of_showing_the_key() -> None:
    with pytest.raises(KeyError):
        i18n.Translator("zh-TW")("no.such.key")
