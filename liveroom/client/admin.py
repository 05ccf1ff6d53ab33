"""Operator commands against a running deployment's REST API, for people and scripts:

    liveroom rooms list|show|create|update|delete
    liveroom products list|create|update|delete
    liveroom orders export --room R [--sale S | --archived] [--format csv|json] [--output FILE]
    liveroom archives list|show|purge
    liveroom log-level [LEVEL]
    liveroom revoke token TOKEN | token-id JTI | user USER_ID | list

Each talks to `--url` (LIVEROOM_URL, http://127.0.0.1:8080) with `--token` (LIVEROOM_TOKEN: an
operator token, or a host's for its own room's products and orders). Results go to stdout (JSON,
or a table for lists); a refusal prints the server's error code and message to stderr. An
export reads every page of the listing and writes them as one file (one CSV header row).

Exit status: 0 done; 1 the server refused (its error code is printed); 2 bad usage;
3 the server could not be reached.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

DEFAULT_URL = "http://127.0.0.1:8080"
TIMEOUT = 30.0
EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3
PAGE = 1000  # orders per page read by an export

ROOM_FIELDS = ("title", "country", "country_code", "host_name", "description")
PRODUCT_FIELDS = ("name", "description", "price", "currency", "stock", "origin", "image")


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- the parser ----------------------------------------------------------------------------------
def add_commands(commands: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("LIVEROOM_URL") or DEFAULT_URL,
                        help=f"the deployment's address (LIVEROOM_URL, {DEFAULT_URL})")
    common.add_argument("--token", default=os.environ.get("LIVEROOM_TOKEN"),
                        help="an operator token (LIVEROOM_TOKEN)")

    rooms = commands.add_parser("rooms", help="list, show, create, change, delete rooms")
    verbs = rooms.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("list", parents=[common], help="rooms with their live viewer counts")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = verbs.add_parser("show", parents=[common], help="one room, as JSON")
    p.add_argument("room")
    p = verbs.add_parser("create", parents=[common], help="create a room (operator)")
    p.add_argument("room")
    _room_fields(p, required=True)
    p = verbs.add_parser("update", parents=[common], help="change the fields given (operator)")
    p.add_argument("room")
    _room_fields(p, required=False)
    p = verbs.add_parser("delete", parents=[common], help="delete a room (operator)")
    p.add_argument("room")

    products = commands.add_parser("products", help="list, create, change, delete products")
    verbs = products.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("list", parents=[common], help="a room's products")
    p.add_argument("room")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    for verb, required in (("create", True), ("update", False)):
        p = verbs.add_parser(verb, parents=[common],
                             help=f"{verb} a product (host, moderator or operator)")
        p.add_argument("room")
        p.add_argument("product")
        _product_fields(p, required=required)
    p = verbs.add_parser("delete", parents=[common], help="remove a product")
    p.add_argument("room")
    p.add_argument("product")

    orders = commands.add_parser("orders", help="export a room's (or a sale's) orders")
    verbs = orders.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("export", parents=[common], help="orders as CSV or JSON")
    p.add_argument("--room", required=True)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--sale", help="only this flash sale's orders")
    which.add_argument("--archived", action="store_true",
                       help="the orders of a deleted room, kept in its archive (operator); "
                       "reading them all marks the archive exported once none is reserved")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--output", type=Path, help="write to this file instead of stdout")

    archives = commands.add_parser(
        "archives", help="deleted rooms whose orders are kept until settled, exported, purged")
    verbs = archives.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("list", parents=[common], help="every archive, with what keeps it")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = verbs.add_parser("show", parents=[common], help="one archive, as JSON")
    p.add_argument("room")
    p = verbs.add_parser("purge", parents=[common],
                         help="remove a settled, exported archive for good (operator)")
    p.add_argument("room")

    level = commands.add_parser("log-level", parents=[common],
                                help="show or change the log level of the instance at --url")
    level.add_argument("level", nargs="?", type=str.upper,
                       choices=("DEBUG", "INFO", "WARNING", "ERROR"))

    revoke = commands.add_parser(
        "revoke", help="cut off an access token, or a user's tokens, on every instance",
        description="Revoke access tokens before they expire, without rotating the secret. "
        "Every instance refuses them from then on and closes their open room-channel "
        "connections within a few seconds (close code 4401, token_revoked). Needs an "
        "operator token (--token).")
    verbs = revoke.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("token", parents=[common], help="one token, given whole")
    p.add_argument("revoked", metavar="TOKEN", help="the access token to revoke")
    p = verbs.add_parser("token-id", parents=[common], help="one token, by its id (jti)")
    p.add_argument("revoked", metavar="JTI")
    p.add_argument("--expires-at", type=int,
                   help="the token's expiry (unix seconds): the entry goes when it would have")
    p = verbs.add_parser("user", parents=[common],
                         help="every token of a user (sub) issued before a moment")
    p.add_argument("revoked", metavar="USER_ID")
    p.add_argument("--not-before", type=int,
                   help="tokens issued before this time (unix seconds) are revoked; now by "
                   "default")
    verbs.add_parser("list", parents=[common], help="what is revoked now, as JSON")


def _room_fields(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--title", required=required)
    p.add_argument("--country", required=required)
    p.add_argument("--country-code", required=required, help="ISO 3166 alpha-2, e.g. TH")
    p.add_argument("--host-name")
    p.add_argument("--description")
    public = p.add_mutually_exclusive_group()
    public.add_argument("--public", dest="public", action="store_true", default=None,
                        help="anyone may watch (the default for a new room)")
    public.add_argument("--private", dest="public", action="store_false",
                        help="only holders of a token for the room may watch")


def _product_fields(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--name", required=required)
    p.add_argument("--price", required=required, help='a decimal string, e.g. "890.00"')
    p.add_argument("--currency", required=required, help="ISO 4217, e.g. THB")
    p.add_argument("--stock", type=int, required=required)
    p.add_argument("--origin")
    p.add_argument("--description")
    p.add_argument("--image", help="an https:// URL or a path on the server")


# --- running -------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    try:
        if args.command == "rooms":
            return _rooms(args)
        if args.command == "products":
            return _products(args)
        if args.command == "orders":
            return _export(args)
        if args.command == "archives":
            return _archives(args)
        if args.command == "revoke":
            return _revoke(args)
        return _log_level(args)
    except AdminError as exc:
        print(f"liveroom: {exc}", file=sys.stderr)
        return exc.status


def _rooms(args: argparse.Namespace) -> int:
    room = quote(getattr(args, "room", ""), safe="")
    if args.verb == "list":
        rooms = _call(args, "GET", "/api/rooms")["rooms"]
        if args.json:
            return _print_json(rooms)
        return _table(rooms, ("id", "title", "country", "public", "viewers", "likes"))
    if args.verb == "show":
        return _print_json(_call(args, "GET", f"/api/rooms/{room}"))
    if args.verb == "delete":
        _call(args, "DELETE", f"/api/rooms/{room}")
        print(f"deleted room {args.room}")
        return 0
    fields = _given(args, ROOM_FIELDS + ("public",))
    if args.verb == "create":
        return _print_json(_call(args, "POST", "/api/rooms", {"id": args.room, **fields}))
    return _print_json(_call(args, "PATCH", f"/api/rooms/{room}", fields))


def _products(args: argparse.Namespace) -> int:
    base = f"/api/rooms/{quote(args.room, safe='')}/products"
    if args.verb == "list":
        products = _call(args, "GET", base)["products"]
        if args.json:
            return _print_json(products)
        return _table(products, ("id", "name", "price", "currency", "stock"))
    product = quote(args.product, safe="")
    if args.verb == "delete":
        _call(args, "DELETE", f"{base}/{product}")
        print(f"deleted product {args.product} of room {args.room}")
        return 0
    fields = _given(args, PRODUCT_FIELDS)
    if args.verb == "create":
        return _print_json(_call(args, "POST", base, {"id": args.product, **fields}))
    return _print_json(_call(args, "PATCH", f"{base}/{product}", fields))


def _export(args: argparse.Namespace) -> int:
    room = quote(args.room, safe="")
    path = (f"/api/archives/{room}/orders" if args.archived
            else f"/api/rooms/{room}/sales/{quote(args.sale, safe='')}/orders" if args.sale
            else f"/api/rooms/{room}/orders")
    if args.format == "csv":
        text = _all_csv_pages(args, f"{path}?format=csv&limit={PAGE}")
        data = text.encode("utf-8")
        count = max(0, len(list(csv.reader(io.StringIO(text)))) - 1)
    else:
        orders: list[dict[str, Any]] = []
        after = None
        while True:
            query = f"?limit={PAGE}" + (f"&after={quote(after, safe='')}" if after else "")
            page = _call(args, "GET", path + query)
            orders += page["orders"]
            after = page.get("next")
            if not after:
                break
        data = (json.dumps(orders, ensure_ascii=False, indent=2) + "\n").encode()
        count = len(orders)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        args.output.write_bytes(data)
        print(f"wrote {count} order(s) to {args.output}", file=sys.stderr)
    return 0


def _all_csv_pages(args: argparse.Namespace, path: str) -> str:
    """Every page of a CSV listing, following its Link headers; the header row once."""
    parts: list[str] = []
    next_path: str | None = path
    while next_path is not None:
        data, headers = _exchange(args, "GET", next_path, accept="text/csv")
        text = data.decode("utf-8")
        parts.append(text if not parts else text.split("\n", 1)[1] if "\n" in text else "")
        next_path = _next_link(headers.get("Link"))
    return "".join(parts)


def _next_link(header: str | None) -> str | None:
    match = re.search(r'<([^>]+)>\s*;\s*rel="next"', header or "")
    if match is None:
        return None
    target = urlsplit(match.group(1))  # the server's path, asked of the same --url
    return target.path + (f"?{target.query}" if target.query else "")


def _archives(args: argparse.Namespace) -> int:
    if args.verb == "list":
        archives = _call(args, "GET", "/api/archives")["archives"]
        if args.json:
            return _print_json(archives)
        rows = [{**a, "room": a["room"]["id"]} for a in archives]
        return _table(rows, ("room", "orders", "reserved", "undelivered", "exported_at",
                             "purgeable"))
    room = quote(args.room, safe="")
    if args.verb == "show":
        return _print_json(_call(args, "GET", f"/api/archives/{room}"))
    _call(args, "DELETE", f"/api/archives/{room}")
    print(f"purged the archive of room {args.room}")
    return 0


def _log_level(args: argparse.Namespace) -> int:
    if args.level is None:
        answer = _call(args, "GET", "/api/admin/log-level")
    else:
        answer = _call(args, "PUT", "/api/admin/log-level", {"level": args.level})
    print(f"{answer['level']} (instance {answer['instance']})")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    if args.verb == "list":
        print(json.dumps(_call(args, "GET", "/api/admin/revocations"), indent=2))
        return 0
    if args.verb == "token":
        body: dict[str, Any] = {"token": args.revoked}
    elif args.verb == "token-id":
        body = {"token_id": args.revoked}
        if args.expires_at is not None:
            body["expires_at"] = args.expires_at
    else:
        body = {"user_id": args.revoked}
        if args.not_before is not None:
            body["not_before"] = args.not_before
    answer = _call(args, "POST", "/api/admin/revocations", body)
    print(json.dumps(answer))
    return 0


# --- HTTP ----------------------------------------------------------------------------------------
def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    data = _fetch(args, method, path, body)
    return json.loads(data) if data else None


def _fetch(args: argparse.Namespace, method: str, path: str, body: Any = None,
           accept: str = "application/json") -> bytes:
    return _exchange(args, method, path, body, accept)[0]


def _exchange(args: argparse.Namespace, method: str, path: str, body: Any = None,
              accept: str = "application/json") -> tuple[bytes, Message]:
    url = args.url.rstrip("/") + path
    headers = {"Accept": accept}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.read(), response.headers
    except urllib.error.HTTPError as exc:
        raise AdminError(EXIT_REFUSED, _refusal(exc, bool(args.token))) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AdminError(EXIT_UNREACHABLE, f"cannot reach {args.url}: {reason}") from None


def _refusal(exc: urllib.error.HTTPError, had_token: bool) -> str:
    try:
        error = json.loads(exc.read())["error"]
        text = f"{error['code']}: {error['message']} (HTTP {exc.code})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {exc.code} {exc.reason}"
    if error["code"] == "unauthorized" and not had_token:
        text += "; give a token with --token or LIVEROOM_TOKEN"
    return text


# --- output --------------------------------------------------------------------------------------
def _print_json(value: Any) -> int:
    print(json.dumps(value, ensure_ascii=False, indent=2))
    return 0


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> int:
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    for line in [list(columns), *cells]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    return 0
