"""Rooms and products: the records the store keeps, and how client input becomes one.

Records travel as plain dicts (msgpack in Redis, JSON on disk and on the wire); the functions
here are the only place that decides which fields exist and what values they may hold.

Rooms and products may carry their text in other languages: `translations` maps a language
code ("th", "ru", ...) to the fields translated into it (a room's title and description, a
product's name and description). Pages show the viewer's language and fall back to the
record's own text. An update merges translations language by language: a field given as ""
is dropped, a language given as null is dropped whole. A record without translations has no
`translations` field at all (Redis scripts re-pack records, and an empty map would come back
as an empty list).
"""

from __future__ import annotations

import re
import time
from typing import Any

from .validation import (
    COUNTRY_CODE,
    check_bool,
    check_currency,
    check_image,
    check_int,
    check_price,
    check_slug,
    check_text,
    invalid,
    only_fields,
)

ROOM_FIELDS = {"id", "title", "country", "country_code", "host_name", "description", "public",
               "translations"}
PRODUCT_FIELDS = {
    "id", "name", "description", "price", "currency", "stock", "origin", "image", "translations",
}
MAX_STOCK = 10_000_000
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
MAX_LANGUAGES = 12
# What may be translated, with each field's longest text.
ROOM_TRANSLATED = {"title": 120, "description": 2000}
PRODUCT_TRANSLATED = {"name": 120, "description": 2000}


def check_translations(value: Any, fields: dict[str, int], existing: dict | None = None
                       ) -> dict[str, dict[str, str]]:
    """Merge `value` ({lang: {field: text} or null}) into `existing` translations."""
    if not isinstance(value, dict):
        raise invalid("translations", "must be an object of language code -> translated fields")
    merged = {lang: dict(texts) for lang, texts in (existing or {}).items()}
    for lang, texts in value.items():
        if not isinstance(lang, str) or not LANGUAGE.match(lang):
            raise invalid("translations", f"{lang!r} is not a language code such as th or ru")
        if texts is None:
            merged.pop(lang, None)
            continue
        if not isinstance(texts, dict):
            raise invalid(f"translations.{lang}", "must be an object of translated fields")
        current = merged.setdefault(lang, {})
        for name, text in texts.items():
            if name not in fields:
                raise invalid(f"translations.{lang}",
                              f"{name!r} cannot be translated (only {', '.join(fields)})")
            text = check_text(text, f"translations.{lang}.{name}", max_chars=fields[name],
                              allow_empty=True)
            if text:
                current[name] = text
            else:
                current.pop(name, None)
        if not current:
            del merged[lang]
    if len(merged) > MAX_LANGUAGES:
        raise invalid("translations", f"at most {MAX_LANGUAGES} languages")
    return merged


def _set_translations(record: dict, data: dict, fields: dict[str, int]) -> None:
    if "translations" not in data:
        return
    translations = check_translations(data["translations"], fields, record.get("translations"))
    if translations:
        record["translations"] = translations
    else:
        record.pop("translations", None)


def localized(record: dict[str, Any], lang: str) -> dict[str, Any]:
    """The record with its text in `lang` where it has one (the record's own text otherwise)."""
    texts = (record.get("translations") or {}).get(lang)
    return {**record, **texts} if texts else record


def room_from_input(data: Any, existing: dict | None = None) -> dict:
    """A validated room record; with `existing`, a partial update of it (id cannot change)."""
    data = only_fields(data, ROOM_FIELDS, "room")
    room = dict(existing) if existing else {"public": True, "description": ""}
    if existing is None:
        for required in ("id", "title", "country", "country_code"):
            if required not in data:
                raise invalid(required, "is required")
        room["id"] = check_slug(data["id"])
        room["created_at"] = int(time.time() * 1000)
    elif "id" in data and data["id"] != existing["id"]:
        raise invalid("id", "cannot be changed")
    if "title" in data:
        room["title"] = check_text(data["title"], "title", max_chars=120)
    if "country" in data:
        room["country"] = check_text(data["country"], "country", max_chars=60)
    if "country_code" in data:
        code = data["country_code"]
        if not isinstance(code, str) or not COUNTRY_CODE.match(code):
            raise invalid("country_code", "must be an ISO 3166 alpha-2 code such as TH")
        room["country_code"] = code
    if "host_name" in data:
        room["host_name"] = check_text(data["host_name"], "host_name", max_chars=80)
    if "description" in data:
        room["description"] = check_text(
            data["description"], "description", max_chars=2000, allow_empty=True
        )
    if "public" in data:
        room["public"] = check_bool(data["public"], "public")
    _set_translations(room, data, ROOM_TRANSLATED)
    room.setdefault("host_name", "")
    return room


def product_from_input(data: Any, existing: dict | None = None) -> dict:
    """A validated product record; with `existing`, a partial update of it."""
    data = only_fields(data, PRODUCT_FIELDS, "product")
    product = dict(existing) if existing else {"description": "", "image": "", "origin": ""}
    if existing is None:
        for required in ("id", "name", "price", "currency"):
            if required not in data:
                raise invalid(required, "is required")
        product["id"] = check_slug(data["id"])
    elif "id" in data and data["id"] != existing["id"]:
        raise invalid("id", "cannot be changed")
    if "name" in data:
        product["name"] = check_text(data["name"], "name", max_chars=120)
    if "description" in data:
        product["description"] = check_text(
            data["description"], "description", max_chars=2000, allow_empty=True
        )
    if "currency" in data:
        product["currency"] = check_currency(data["currency"])
    if "price" in data or "currency" in data:
        product["price"] = check_price(data.get("price", product.get("price")), product["currency"])
    if "stock" in data:
        product["stock"] = check_int(data["stock"], "stock", low=0, high=MAX_STOCK)
    product.setdefault("stock", 0)
    if "origin" in data:
        product["origin"] = check_text(data["origin"], "origin", max_chars=60, allow_empty=True)
    if "image" in data:
        product["image"] = check_image(data["image"]) if data["image"] else ""
    _set_translations(product, data, PRODUCT_TRANSLATED)
    return product
