"""Raw-socket clients that misbehave slowly, for the tests of the connection guard."""

from __future__ import annotations

import socket
import time


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closes `sock` within `seconds`, and what it wrote before."""
    sock.settimeout(seconds)
    received = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True, received
            received += chunk
    except ConnectionResetError:
        return True, received
    except TimeoutError:
        return False, received


def healthy(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        sock.settimeout(5)
        return sock.recv(64).startswith(b"HTTP/1.1 200")


def dribble(sock: socket.socket, data: bytes, pause: float, give_up: float = 10.0) -> float:
    """Send `data` a byte at a time, `pause` seconds apart (the attack's own pace), until the
    server hangs up (return how long it listened) or `give_up` seconds pass (infinity)."""
    started = time.monotonic()
    try:
        for byte in data:
            sock.sendall(bytes([byte]))
            if time.monotonic() - started > give_up:
                break
            time.sleep(pause)
    except (BrokenPipeError, ConnectionResetError):
        return time.monotonic() - started
    return float("inf")
