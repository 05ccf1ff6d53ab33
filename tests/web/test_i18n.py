"""The pages' catalogs: every string the templates and scripts mark is translated in every
language (no missing, empty or fuzzy entries, the same {placeholders}), and languages are
chosen from ?lang=, the cookie and Accept-Language."""

from __future__ import annotations

import re

import pytest

from web.i18n import (
    HERE,
    LANGUAGES,
    best_accepted,
    extract_messages,
    load_translations,
    negotiate,
    problems,
)

# Literal strings handed to the translation functions, found the blunt way, to catch any the
# Babel extractors would miss (e.g. inside a JavaScript template literal).
JS_CALL = re.compile(r'\bt\(\s*"((?:[^"\\]|\\.)*)"')
TEMPLATE_CALL = re.compile(r'\b(?:_|tr)\(\s*"((?:[^"\\]|\\.)*)"')
TEMPLATE_ATTRIBUTE = re.compile(r'\bta\(\s*"[\w-]+",\s*"((?:[^"\\]|\\.)*)"')


def test_every_catalog_translates_every_string_in_use():
    assert problems() == []


def test_every_marked_string_is_extracted():
    extracted = {m.msgid for m in extract_messages()}
    literals = set()
    for path in (HERE / "static" / "js").glob("*.js"):
        literals |= set(JS_CALL.findall(path.read_text(encoding="utf-8")))
    for path in (HERE / "templates").glob("*.html"):
        text = path.read_text(encoding="utf-8")
        literals |= set(TEMPLATE_CALL.findall(text)) | set(TEMPLATE_ATTRIBUTE.findall(text))
    assert literals, "no strings found: did the marking functions change name?"
    assert literals - extracted == set()


def test_there_is_a_catalog_for_each_language_and_it_loads_without_compiling():
    translations = load_translations()
    assert set(translations) == {"zh", "en", "th", "es", "it", "ru", "vi"} == set(LANGUAGES)
    assert translations["th"]["Live rooms"] == "ห้องไลฟ์"
    assert translations["zh"]["Buy now"] == "立即购买"
    assert translations["ru"]["Connected"] == "Подключено"


@pytest.mark.parametrize("header, lang", [
    ("th-TH,th;q=0.9,en;q=0.8", "th"),
    ("zh-CN,zh;q=0.9", "zh"),
    ("de-DE,de;q=0.9,it;q=0.5,es;q=0.7", "es"),
    ("fr-FR", "en"),
    ("", "en"),
    ("vi;q=0,ru", "ru"),
    ("it;q=abc,pt", "en"),
])
def test_accept_language_picks_our_best_match(header, lang):
    assert best_accepted(header) == lang


def test_the_query_wins_over_the_cookie_and_the_cookie_over_the_browser():
    assert negotiate("th", "ru", "zh") == "th"
    assert negotiate(None, "ru", "zh") == "ru"
    assert negotiate("xx", "yy", "zh-Hans") == "zh"
