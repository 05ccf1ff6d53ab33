"""How many remote ICE candidates a session takes, and how fast.

Each candidate a peer connection is given costs the event loop more than the last (the ICE
agent pairs it with every local candidate and re-sorts its whole check list), so one request
with thousands of them would stall the server for everyone. A browser signals a handful; these
bounds leave room for a machine with many interfaces and both IP versions, and keep any one
session's ICE work small:

- at most MAX_PER_REQUEST candidates in one trickle (a WHIP/WHEP PATCH, or an offer), and
  MAX_PER_SESSION over a session's life, counting those of its offer: past either the request
  is refused whole with `too_many_candidates` and nothing of it is applied;
- trickles (PATCH, or the channel's `media.candidate`) at TRICKLES_PER_SECOND per session,
  bursts of TRICKLE_BURST: past it `rate_limited`, with `retry_after_ms`.
"""

from __future__ import annotations

import math
import re

from liveroom.channel.ratelimit import TokenBucket
from liveroom.domain.errors import LiveroomError

MAX_PER_REQUEST = 32
MAX_PER_SESSION = 64
TRICKLES_PER_SECOND = 10.0
TRICKLE_BURST = 40

_CANDIDATE_LINE = re.compile(r"^a=candidate:", re.M)


def count_in_sdp(text: str) -> int:
    """The a=candidate lines of an SDP offer or fragment."""
    return len(_CANDIDATE_LINE.findall(text))


def check_request(count: int) -> None:
    if count > MAX_PER_REQUEST:
        raise LiveroomError(
            "too_many_candidates", f"{count} candidates in one request; at most "
            f"{MAX_PER_REQUEST}", limit=MAX_PER_REQUEST)


class TrickleBudget:
    """One session's allowance: candidates left, and the pace of its trickles."""

    def __init__(self, offered: int = 0) -> None:
        check_request(offered)
        self.taken = offered
        self._pace = TokenBucket(TRICKLES_PER_SECOND, TRICKLE_BURST)

    def spend(self, count: int) -> None:
        """Account for a trickle of `count` candidates, or refuse it whole."""
        wait = self._pace.take()
        if wait:
            raise LiveroomError("rate_limited", "too many candidate requests for this session",
                                retry_after_ms=math.ceil(wait * 1000))
        check_request(count)
        if self.taken + count > MAX_PER_SESSION:
            raise LiveroomError(
                "too_many_candidates", f"a session takes at most {MAX_PER_SESSION} remote "
                f"candidates; {self.taken} were given already", limit=MAX_PER_SESSION)
        self.taken += count
