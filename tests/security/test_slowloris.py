"""Slowloris: a request head dribbled a byte at a time, or a body that never ends, no longer
holds a connection (and a file descriptor) for as long as the client likes."""

from __future__ import annotations

import json
import socket

from .slow_clients import closed_within, dribble, healthy

HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Padding: slowly\r\n" * 200 + b"\r\n"


def test_a_request_head_sent_byte_by_byte_is_cut_off(guarded_server):
    server = guarded_server()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        # A byte every 0.2 s never completes the head within the 1 s header timeout, but
        # keeps the connection busy forever without the guard (aiohttp has no such deadline).
        listened = dribble(sock, HEAD, pause=0.2)
    assert listened < 10, "the server kept reading a request head dribbled for 10 s"
    assert healthy(server.port)


def test_a_body_that_never_ends_is_answered_408_and_closed(guarded_server):
    server = guarded_server()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\n\r\n{\"id\": ")
        closed, answer = closed_within(sock, 10)
    assert closed, "a request body that never ended held its connection for 10 s"
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body)["error"]["code"] == "request_timeout"
    assert healthy(server.port)


def test_a_complete_slow_but_steady_request_is_still_served(guarded_server):
    """The deadlines bound the whole head and body, not the pace: a client that finishes in
    time is answered."""
    server = guarded_server(LIVEROOM_HEADER_TIMEOUT="5")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        assert dribble(sock, head, pause=0.02) == float("inf")
        closed, answer = closed_within(sock, 10)
    assert answer.startswith(b"HTTP/1.1 200")
