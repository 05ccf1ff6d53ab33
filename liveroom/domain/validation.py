"""Checks on what clients send: ids, names, free text, money.

Every check raises LiveroomError("invalid_field", ...) naming the field, so the REST API and the
room channel give the same precise answer for the same mistake. Text is only checked, never
escaped: it is stored and sent as text, and the pages insert it with textContent.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import LiveroomError

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
USER_ID = re.compile(r"^[A-Za-z0-9_.@:-]{1,64}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
# ISO 4217 currencies without minor units that our partner markets use.
ZERO_DECIMAL_CURRENCIES = frozenset({"CLP", "VND", "JPY", "KRW", "ISK", "UGX", "PYG"})
MAX_PRICE = Decimal("1000000000")


def invalid(field: str, message: str) -> LiveroomError:
    return LiveroomError("invalid_field", f"{field}: {message}", field=field)


def check_slug(value: Any, field: str = "id") -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        raise invalid(
            field, "must be 1-40 lowercase letters, digits or dashes, not starting with a dash"
        )
    return value


def check_user_id(value: Any, field: str = "user_id") -> str:
    if not isinstance(value, str) or not USER_ID.match(value):
        raise invalid(field, "must be 1-64 letters, digits or _ . @ : -")
    return value


def check_text(value: Any, field: str, *, max_chars: int, allow_empty: bool = False) -> str:
    """Trimmed text without control characters, within a length limit."""
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    text = value.strip()
    if not text and not allow_empty:
        raise invalid(field, "must not be empty or only whitespace")
    if len(text) > max_chars:
        raise invalid(field, f"must be at most {max_chars} characters, got {len(text)}")
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") and ch not in "\n\t":
            raise invalid(field, f"must not contain control character U+{ord(ch):04X}")
    return text


def check_int(value: Any, field: str, *, low: int, high: int) -> int:
    # bool is an int in Python; a JSON true must not pass as 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be an integer")
    if not low <= value <= high:
        raise invalid(field, f"must be between {low} and {high}, got {value}")
    return value


def check_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(field, "must be true or false")
    return value


def check_currency(value: Any, field: str = "currency") -> str:
    if not isinstance(value, str) or not CURRENCY.match(value):
        raise invalid(field, "must be an ISO 4217 code such as CNY or THB")
    return value


def check_price(value: Any, currency: str, field: str = "price") -> str:
    """A positive amount with no more decimals than the currency has; kept as a string."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid(field, 'must be a decimal string such as "99.00"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise invalid(field, f"{value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_PRICE:
        raise invalid(field, f"must be above 0 and at most {MAX_PRICE}")
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    quantum = Decimal(1).scaleb(-places)
    if amount != amount.quantize(quantum):
        raise invalid(field, f"{currency} amounts have at most {places} decimal places")
    return str(amount.quantize(quantum))


def check_image(value: Any, field: str = "image") -> str:
    """An https:// URL, or a path on this server. Browsers read `//host/...` as another site
    (protocol-relative), `/\\host/...` too (a backslash counts as a slash), and drop tabs and
    newlines inside a URL before reading it: none of these may pass for a path here."""
    if not isinstance(value, str) or len(value) > 500:
        raise invalid(field, "must be a URL of at most 500 characters")
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") or ch in "\"'<>\\"
           for ch in value):
        raise invalid(field, "must not contain spaces, control characters, quotes, angle "
                             "brackets or backslashes")
    if not (value.startswith("https://") or (value.startswith("/")
                                               and not value.startswith("//"))):
        raise invalid(field, "must be an https:// URL or a path on this server (one leading /)")
    return value


def only_fields(data: Any, allowed: set[str], what: str) -> dict:
    if not isinstance(data, dict):
        raise LiveroomError("invalid_field", f"{what} must be a JSON object")
    unknown = set(data) - allowed
    if unknown:
        raise LiveroomError(
            "invalid_field",
            f"{what} has unknown field(s): {', '.join(sorted(unknown))}",
            field=sorted(unknown)[0],
        )
    return data
