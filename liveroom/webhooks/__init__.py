"""Webhooks: every instance delivers what the outbox leases it, signed, retried with backoff.

A delivery is an HTTP POST of JSON to the room's configured URL:

    Liveroom-Delivery:  <delivery id>   the same on every retry: receivers deduplicate on it
    Liveroom-Event:     order.created | order.paid | order.cancelled | sale.ended
    Liveroom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>

    {"id": "<delivery id>", "type": "order.created", "room": "thailand",
     "created_at": <unix ms>, "data": {...the order, or the sale...}}

A 2xx answer is success. Anything else, or no answer within the timeout, is retried after 1, 2,
4, ... seconds, at most every 10 minutes, until it succeeds. Redirects are not followed: a 3xx
is a failed attempt like any other (following one would turn the signed POST into a GET
without its body, and hand the signature to whatever the receiver points at). Nor is anything
sent to this machine or to a cloud metadata address (targets.py). The outbox lease makes one
instance at a time responsible for an entry; an instance that dies mid-delivery loses its lease and
another one delivers: at least once, so receivers deduplicate on the delivery id.

Every instance polls the outboxes of the rooms with a webhook twice a second; while no room has
a webhook, it only looks for one every 2 s (those polls were most of an idle server's work).
"""

from __future__ import annotations

from .dispatcher import Dispatcher, backoff
from .signing import sign, verify
from .targets import RefusedTarget, TargetPolicy, client_session

__all__ = ["Dispatcher", "RefusedTarget", "TargetPolicy", "backoff", "client_session", "sign",
           "verify"]
