"""Order listings in pages, JSON or CSV: `?limit=` (1-1000, 100 by default) and `?after=`
(the last order of the page before: the cursor). A full page names the next one: `next` in
JSON, and a `Link: <...>; rel="next"` header in both forms (RFC 8288); a page with fewer
orders than the limit is the last. Every CSV page has its header row, so each is a file on its
own; joining them, skip the header of all but the first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..domain.validation import invalid
from ..engine.sales import PAGE_LIMIT
from .orders_csv import orders_csv

DEFAULT_LIMIT = 100
MAX_CURSOR = 64

Lister = Callable[..., Awaitable[list[dict[str, Any]]]]


def page_query(request: web.Request) -> tuple[str | None, int]:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= PAGE_LIMIT:
        raise invalid("limit", f"must be a whole number from 1 to {PAGE_LIMIT}")
    after = request.query.get("after")
    if after is not None and not 0 < len(after) <= MAX_CURSOR:
        raise invalid("after", "must be the id of the last order of the page before")
    return after, int(raw)


def wants_csv(request: web.Request) -> bool:
    return request.query.get("format") == "csv" or (
        "text/csv" in request.headers.get("Accept", ""))


async def orders_page(request: web.Request, list_orders: Lister, name: str
                      ) -> tuple[web.Response, bool]:
    """The page the request asks for, and whether it is the last one."""
    after, limit = page_query(request)
    orders = await list_orders(after=after, limit=limit)
    following = orders[-1]["id"] if len(orders) == limit else None
    headers = {}
    if following is not None:
        headers["Link"] = f'<{request.rel_url.update_query(after=following)}>; rel="next"'
    if not wants_csv(request):
        return web.json_response({"orders": orders, "next": following},
                                 headers=headers), following is None
    headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return web.Response(text=orders_csv(orders), content_type="text/csv", charset="utf-8",
                        headers=headers), following is None
