"""HTTP session for the 42 API: paced by its rate-limit headers, 429s waited out, faults retried.

dlt's retrying client handles 5xx, timeouts and dropped connections. What it cannot do is
stay under the API's limits in the first place, tell a secondly 429 (wait a second) from an
hourly one (give up), or treat a 200 with a cut-off JSON body as the transient fault it is.
"""

from __future__ import annotations

import math
import threading
import time

from dlt.common.json import json
from dlt.sources.helpers.requests import Client
from requests import Response, Session
from requests.adapters import HTTPAdapter

DEFAULT_PER_SECOND = 2  # the API's default when the headers are missing
# A 429 asking for a longer wait than this means the hourly budget is gone: fail, don't hang.
MAX_RATE_LIMIT_WAIT = 60.0
MAX_RATE_LIMIT_RETRIES = 30


class RateLimitedAdapter(HTTPAdapter):
    """Sends at most the advertised number of requests in any one-second window of the server's.

    A request counts from when its response arrived here: the server counted it before it
    answered, so the request that takes its slot a second later reaches the server more than a
    second after it, whatever the network's delays, with no margin to guess.
    """

    def __init__(self) -> None:
        super().__init__()
        self._window_changed = threading.Condition()
        # One entry per request in the current window: when its response arrived, inf in flight.
        self._window: list[float] = []
        self.per_second = DEFAULT_PER_SECOND
        self.responses_429 = 0
        self.requests_sent = 0
        self.bytes_received = 0

    def _take_slot(self) -> None:
        with self._window_changed:
            while True:
                now = time.monotonic()
                self._window = [answered for answered in self._window if now - answered < 1.0]
                if len(self._window) < self.per_second:
                    self._window.append(math.inf)
                    return
                oldest = min(self._window)
                self._window_changed.wait(None if oldest == math.inf else oldest + 1.0 - now)

    def _settle_slot(self, response: Response | None) -> None:
        """Date the slot by the response; free it if the response says the request did not count
        (its window still has every request left: the token endpoint's)."""
        remaining = response.headers.get("X-Secondly-RateLimit-Remaining", "") if response is not None else ""
        counted = not (remaining.isdigit() and int(remaining) >= self.per_second)
        with self._window_changed:
            self._window.remove(math.inf)
            if counted:
                self._window.append(time.monotonic())
            self._window_changed.notify_all()

    def _learn_limits(self, response: Response) -> None:
        limit = response.headers.get("X-Secondly-RateLimit-Limit")
        if limit and limit.isdigit() and int(limit) > 0:
            self.per_second = int(limit)

    def send(self, request, **kwargs) -> Response:
        for _ in range(MAX_RATE_LIMIT_RETRIES):
            self._take_slot()
            self.requests_sent += 1
            response = None
            try:
                response = super().send(request, **kwargs)
                self.bytes_received += len(response.content)
                self._learn_limits(response)
            finally:
                self._settle_slot(response)
            if response.status_code != 429:
                return response
            self.responses_429 += 1
            wait = _retry_after(response)
            if wait > MAX_RATE_LIMIT_WAIT or response.headers.get("X-Hourly-RateLimit-Remaining") == "0":
                return response  # the hourly budget is spent: waiting seconds will not help
            response.close()
            time.sleep(wait)
        return response


def _retry_after(response: Response) -> float:
    """Seconds a 429 asks us to wait; without a header, the secondly window is the likely cause."""
    value = response.headers.get("Retry-After", "")
    return float(value) if value.replace(".", "", 1).isdigit() else 1.0


def _unparseable_json(response: Response | None, exception: BaseException | None) -> bool:
    """A 200 whose JSON body is cut off is a transport fault: retry it like a 5xx."""
    if response is None or response.status_code != 200:
        return False
    if "json" not in response.headers.get("Content-Type", ""):
        return False
    try:
        # dlt's JSON (orjson): requests' own .json() would use simplejson, three times slower.
        body = json.loadb(response.content)
    except ValueError:
        return True
    # dlt reads the page through response.json(): hand it this parse instead of a second one.
    response.json = lambda **_: body
    return False


def api_session() -> tuple[Session, RateLimitedAdapter]:
    client = Client(
        raise_for_status=False,
        # 429s are the adapter's job; dlt retries only what is worth retrying blindly.
        status_codes=tuple(range(500, 600)),
        retry_condition=_unparseable_json,
    )
    client.configure()  # request timeout and retry counts from .dlt/config.toml [runtime]
    session = client.session
    adapter = RateLimitedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session, adapter
