"""What gates an authenticated request: per-application rate windows and bearer tokens."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

UNLIMITED = 1_000_000  # limit shown in the rate headers when a limit is switched off


class RateWindows:
    """Rolling one-second and one-hour windows per application. Not thread-safe: caller locks."""

    def __init__(self):
        self._second: dict[str, deque] = {}
        self._hour: dict[str, deque] = {}

    def _windows(self, app: str, now: float) -> tuple[deque, deque]:
        sec = self._second.setdefault(app, deque())
        hour = self._hour.setdefault(app, deque())
        while sec and sec[0] <= now - 1.0:
            sec.popleft()
        while hour and hour[0] <= now - 3600.0:
            hour.popleft()
        return sec, hour

    def admit(self, app: str, per_second: int, per_hour: int, consume: bool):
        """Returns (allowed, headers, seconds_until_free). Consumes a slot only if allowed."""
        now = time.monotonic()
        sec, hour = self._windows(app, now)
        sec_limit, hour_limit = per_second or UNLIMITED, per_hour or UNLIMITED
        wait = 0.0
        if per_hour and len(hour) >= per_hour:
            wait = hour[0] + 3600.0 - now
        elif per_second and len(sec) >= per_second:
            wait = sec[0] + 1.0 - now
        allowed = wait == 0.0
        if allowed and consume:
            sec.append(now)
            hour.append(now)
        headers = [
            ("X-Secondly-RateLimit-Limit", str(sec_limit)),
            ("X-Secondly-RateLimit-Remaining", str(max(0, sec_limit - len(sec)))),
            ("X-Hourly-RateLimit-Limit", str(hour_limit)),
            ("X-Hourly-RateLimit-Remaining", str(max(0, hour_limit - len(hour)))),
        ]
        return allowed, headers, wait


@dataclass
class Token:
    value: str
    app: str
    created_at: int      # epoch seconds, as reported
    expires_at: float    # epoch seconds
    revoked: bool = False  # set by expire_token_every

    def expired(self, now: float) -> bool:
        return self.revoked or now >= self.expires_at
