"""The pages' languages: gettext catalogs (Babel's .po files) read as they are at start-up.

Messages live in web/locale/<lang>/LC_MESSAGES/messages.po. They are parsed with Babel at
start-up (no compile step, so a fresh clone serves every language), and a missing or fuzzy
translation falls back to the English msgid. Templates call `_("Hosted by {name}", name=...)`;
the JavaScript calls `t("...")` from i18n.js, and each page embeds, as JSON, the translations
of every string the JavaScript uses, for the page's language.

A page's language is `?lang=` (remembered in a cookie), else the cookie, else the best match
for the browser's Accept-Language, else English.

Maintainers: `python -m web.i18n update` extracts the strings from the templates and the
JavaScript and merges them into every catalog (new ones untranslated); `python -m web.i18n
check` lists what is missing. tests/web/test_i18n.py fails while anything is.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po
from markupsafe import Markup, escape

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"
# code -> (BCP 47 tag for <html lang> and Intl, the language's own name for the switcher).
LANGUAGES = {
    "zh": ("zh-CN", "简体中文"),
    "en": ("en", "English"),
    "th": ("th", "ไทย"),
    "es": ("es", "Español"),
    "it": ("it", "Italiano"),
    "ru": ("ru", "Русский"),
    "vi": ("vi", "Tiếng Việt"),
}
LANG_COOKIE = "liveroom_lang"
# What to look in for strings, and the functions that mark them (templates `_`, scripts `t`).
METHOD_MAP = [("templates/**.html", "jinja2"), ("static/js/**.js", "javascript")]
# Templates also mark with tr() (text the page can switch to another language in place: see
# Translator.tr) and ta() (an attribute: ta("aria-label", "Live video")).
KEYWORDS = {"_": None, "t": None, "tr": None, "ta": (2,)}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Message:
    msgid: str
    locations: tuple[tuple[str, int], ...]

    @property
    def in_script(self) -> bool:
        return any(path.endswith(".js") for path, _ in self.locations)


def extract_messages(root: Path = HERE, method_map=METHOD_MAP) -> list[Message]:
    """Every string the templates and scripts mark for translation, in source order."""
    found: dict[str, list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        root, method_map, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True,
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append((filename, lineno))
    return [Message(msgid, tuple(locs)) for msgid, locs in found.items()]


@functools.cache
def script_msgids(root: Path = HERE) -> tuple[str, ...]:
    """The strings the JavaScript needs (read once: the files do not change while serving)."""
    scripts = [(pattern, method) for pattern, method in METHOD_MAP if method == "javascript"]
    return tuple(m.msgid for m in extract_messages(root, scripts))


@functools.cache
def all_msgids(root: Path = HERE) -> tuple[str, ...]:
    return tuple(m.msgid for m in extract_messages(root))


def po_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(lang: str, locale_dir: Path = LOCALE_DIR) -> Catalog:
    with po_path(lang, locale_dir).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def load_translations(locale_dir: Path = LOCALE_DIR) -> dict[str, dict[str, str]]:
    """lang -> {msgid: msgstr}, leaving out fuzzy and empty entries (they show in English)."""
    out: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        path = po_path(lang, locale_dir)
        table: dict[str, str] = {}
        if path.exists():
            for entry in read_catalog(lang, locale_dir):
                if (isinstance(entry.id, str) and entry.id and isinstance(entry.string, str)
                        and entry.string and not entry.fuzzy):
                    table[entry.id] = entry.string
        out[lang] = table
    return out


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def _fill(text: str, values: dict) -> str:
    # Only {name} placeholders, so a translation with stray braces cannot break the page.
    return _PLACEHOLDER.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text)


class Translator:
    """One language's `_` for templates: the translation, escaped, with {name} filled in
    (values are escaped unless they are Markup, such as a <span> the page script updates)."""

    def __init__(self, lang: str, table: dict[str, str]) -> None:
        self.lang = lang
        self.table = table

    def gettext(self, msgid: str) -> str:
        return self.table.get(msgid, msgid)

    def __call__(self, msgid: str, **values) -> Markup:
        text = escape(self.gettext(msgid))
        if not values:
            return text
        escaped = {k: escape(v) for k, v in values.items()}
        return Markup(_fill(str(text), escaped))

    def tr(self, msgid: str, **values) -> Markup:
        """Text the page can switch to another language without reloading: the translation
        in a <span data-t="msgid">, each {name} value in a <span data-slot="name"> that the
        switch keeps (web/static/js/i18n.js)."""
        slots = {k: Markup('<span data-slot="{}">{}</span>').format(k, v)
                 for k, v in values.items()}
        return Markup('<span data-t="{}">{}</span>').format(msgid, self(msgid, **slots))

    def ta(self, attribute: str, msgid: str) -> Markup:
        """An attribute the page can switch likewise: ta("aria-label", "Live video")."""
        return Markup('{0}="{1}" data-t-{0}="{2}"').format(attribute, self(msgid), msgid)

    def script_messages(self) -> dict[str, str]:
        return {msgid: self.gettext(msgid) for msgid in script_msgids()}

    def all_messages(self) -> dict[str, str]:
        """Every string of the templates and the scripts: what a page switching to this
        language in place needs."""
        return {msgid: self.gettext(msgid) for msgid in all_msgids()}


def negotiate(query_lang: str | None, cookie_lang: str | None, accept: str) -> str:
    """The page language: the query, then the cookie, then Accept-Language, then English."""
    for choice in (query_lang, cookie_lang):
        if choice in LANGUAGES:
            return choice
    return best_accepted(accept)


def best_accepted(accept: str) -> str:
    """The best language of ours in an Accept-Language header ("th-TH,th;q=0.9,en;q=0.8")."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


# --- maintenance: python -m web.i18n update | check -------------------------------------------

def template_catalog(messages: Iterable[Message]) -> Catalog:
    catalog = Catalog(domain=DOMAIN, project="Liveroom", fuzzy=False)
    for m in messages:
        catalog.add(m.msgid, locations=m.locations)
    return catalog


def update_catalogs(locale_dir: Path = LOCALE_DIR) -> None:
    """Merge the strings in use into every catalog; new ones come in untranslated."""
    template = template_catalog(extract_messages())
    for lang in LANGUAGES:
        path = po_path(lang, locale_dir)
        if path.exists():
            catalog = read_catalog(lang, locale_dir)
        else:
            catalog = Catalog(locale=lang, domain=DOMAIN, project="Liveroom", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=100, sort_output=False, omit_header=False)


def problems(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """What is wrong with the catalogs: strings missing, untranslated, fuzzy, or whose
    translation lost or invented a {placeholder}."""
    wanted = {m.msgid for m in extract_messages()}
    found: list[str] = []
    for lang in LANGUAGES:
        path = po_path(lang, locale_dir)
        if not path.exists():
            found.append(f"{lang}: no catalog at {path}")
            continue
        entries = {e.id: e for e in read_catalog(lang, locale_dir) if isinstance(e.id, str) and e.id}
        for msgid in sorted(wanted - entries.keys()):
            found.append(f"{lang}: missing {msgid!r}")
        for msgid, entry in entries.items():
            if entry.fuzzy:
                found.append(f"{lang}: fuzzy {msgid!r}")
            elif not entry.string:
                found.append(f"{lang}: untranslated {msgid!r}")
            elif placeholders(str(entry.string)) != placeholders(msgid):
                found.append(f"{lang}: placeholders differ in {msgid!r}: {entry.string!r}")
            if msgid not in wanted:
                found.append(f"{lang}: {msgid!r} is no longer used")
    return found


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        update_catalogs()
        argv = ["check"]
    if argv[:1] == ["check"]:
        issues = problems()
        print("\n".join(issues) if issues else "every catalog is complete")
        return 1 if issues else 0
    print("usage: python -m web.i18n update|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
