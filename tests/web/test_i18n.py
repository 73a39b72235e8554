"""The two catalogs agree, and the language is chosen the way browsers expect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hookline.catalog import TOPICS
from hookline.web import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"
CJK = re.compile(r"[\u4e00-\u9fff]")


PLURAL = re.compile(r"\.(one|other)$")


def messages(texts: dict[str, str]) -> set[str]:
    """The keys, a counted text once (without its plural category)."""
    return {PLURAL.sub("", key) for key in texts}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    en, zh = i18n.catalog("en"), i18n.catalog("zh-TW")
    assert messages(en) == messages(zh), sorted(messages(en) ^ messages(zh))
    for key in en:
        other = key if key in zh else PLURAL.sub(".other", key)
        assert i18n.placeholders(en[key]) == i18n.placeholders(zh[other]), key


def test_a_counted_text_has_exactly_the_forms_its_language_counts_with() -> None:
    """English "1 second" / "2 seconds"; Chinese one form: a missing form would raise."""
    for lang, forms in i18n.PLURAL_FORMS.items():
        texts = i18n.catalog(lang)
        counted: dict[str, set[str]] = {}
        for key in texts:
            match = PLURAL.search(key)
            if match:
                counted.setdefault(key[: match.start()], set()).add(match.group(1))
        assert counted, f"{lang}: no counted texts?"
        wrong = {base: found for base, found in counted.items() if found != set(forms)}
        assert wrong == {}, lang
        assert {i18n.PLURAL_RULES[lang](n) for n in range(0, 30)} == set(forms)


def test_plural_and_list_joining_in_both_languages() -> None:
    en, zh = i18n.Translator("en"), i18n.Translator("zh-TW")
    assert en.plural("login.throttled", 1, seconds=1).endswith("Try again in 1 second.")
    assert en.plural("login.throttled", 2, seconds=2).endswith("Try again in 2 seconds.")
    assert en.plural("login.throttled", 0, seconds=0).endswith("in 0 seconds.")
    assert "1 秒後" in zh.plural("login.throttled", 1, seconds=1)
    assert en.join(["A", "B", "C"]) == "A, B, C"
    assert zh.join(["甲", "乙", "丙"]) == "甲、乙、丙"


def test_chinese_texts_are_chinese() -> None:
    """A zh-TW text without a single CJK character is almost surely left in English."""
    zh = i18n.catalog("zh-TW")
    allowed = {"app.name", "nav.webhooks", "list.title", "detail.id"}  # brand and product names
    untranslated = [k for k, text in zh.items() if k not in allowed and not CJK.search(text)]
    assert untranslated == []


def test_every_key_a_template_names_exists() -> None:
    en = i18n.catalog("en")
    static_keys = set()
    counted_keys = set()
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        static_keys |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""", text))
        counted_keys |= set(re.findall(r"""\bt\.plural\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""", text))
    assert static_keys, "the templates name no keys?"
    assert sorted(static_keys - en.keys()) == []
    assert sorted(f"{key}.other" for key in counted_keys if f"{key}.other" not in en) == []


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
