"""Orders as CSV, safe to open in a spreadsheet.

Staff open these files in Excel, LibreOffice or Google Sheets, where a cell that starts with
`=`, `+`, `-` or `@` (or a tab or carriage return, which some of them skip before looking) is a
formula: a buyer named `=HYPERLINK(...)` or `=cmd|' /C calc'!A0` would run in the staff's
spreadsheet. As OWASP recommends for CSV injection, every cell is quoted and a text cell that
starts with one of those characters gets a leading `'`, which spreadsheets show as text and do
not evaluate. Every column is treated alike (names, ids, idempotency keys), so a new column
cannot reopen the hole; numbers are written as numbers, times in ISO 8601 (UTC), not Unix ms.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable
from typing import Any

ORDER_COLUMNS = ("id", "sale_id", "product_id", "product_name", "user_id", "user_name",
                 "quantity", "unit_price", "currency", "total", "status", "created_at",
                 "expires_at", "settled_at", "settled_by", "idempotency_key")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TIME_COLUMNS = frozenset({"created_at", "expires_at", "settled_at"})


def cell(value: Any) -> str | int | float:
    """A value as a spreadsheet will read it: text that could start a formula is defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def orders_csv(orders: Iterable[dict[str, Any]], *, header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    if header:
        writer.writerow(ORDER_COLUMNS)
    for order in orders:
        writer.writerow([cell(_iso_time(order.get(column)) if column in TIME_COLUMNS
                              else order.get(column)) for column in ORDER_COLUMNS])
    return out.getvalue()


def _iso_time(value: Any) -> Any:
    """Unix ms as a spreadsheet reads a time: ISO 8601 in UTC."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    when = datetime.datetime.fromtimestamp(value / 1000, datetime.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
