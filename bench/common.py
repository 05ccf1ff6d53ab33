"""Small pieces shared by the fan-out bench: the message marker, process accounting, ports."""

from __future__ import annotations

import math
import os
import re
import resource
import socket
import time

# Every published chat text carries a marker: publisher letter, that publisher's counter, and
# the *intended* send time (the fixed-rate schedule, in microseconds of CLOCK_MONOTONIC, which
# is one clock for every process of the machine). Viewers find markers in the raw bytes of the
# socket with one regular expression per read; the trailing ";" tells a complete marker from
# one cut in two by the network.
MARKER_COUNT = re.compile(rb"#([a-z])(\d+)@\d+;")
MARKER_TIMED = re.compile(rb"#([a-z])(\d+)@(\d+);")
PUBLISHER_IDS = "abcdefghijklmnopqrstuvwxyz"


def marker(publisher: str, counter: int, intended: float) -> str:
    return f"#{publisher}{counter}@{int(intended * 1_000_000)};"


def now_us() -> int:
    return int(time.monotonic() * 1_000_000)


def raise_fd_limit() -> int:
    """Raise the open-files limit to the hard limit (children inherit it); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list (nan when empty)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return sorted_values[rank - 1]
