"""HTTP session for the 42 API: paced by its rate-limit headers, 429s waited out, faults retried.

dlt's retrying client handles 5xx, timeouts and dropped connections. What it cannot do is
stay under the API's limits in the first place, tell a secondly 429 (wait a second) from an
hourly one (give up), treat a 200 whose body is not JSON (cut off, an HTML error page) as the
transport fault it is, bound a whole response in time (requests' timeout is per socket read),
or keep credentials from following a redirect to another host.
"""

from __future__ import annotations

import json as std_json
import math
import socket
import threading
import time
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from dlt.common.json import json
from dlt.sources.helpers.requests import Client
from requests import PreparedRequest, RequestException, Response, Session
from requests.adapters import HTTPAdapter
from requests.exceptions import ReadTimeout

DEFAULT_PER_SECOND = 2  # the API's default when the headers are missing
# A 429 asking for a longer wait than this means the hourly budget is gone: fail, don't hang.
MAX_RATE_LIMIT_WAIT = 60.0
MAX_RATE_LIMIT_RETRIES = 30


class ApiMisbehaved(Exception):
    """The API answered something the sync cannot trust; the message is the whole line to show."""


def request_line(request: PreparedRequest) -> str:
    """`GET /v2/cursus/21/users?filter[kind]=student…`: what was asked, readable, with no credential
    (tokens travel in headers and the secret in the body, never in the URL)."""
    return f"{request.method} {unquote(request.path_url)}"


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


class RateLimitedAdapter(HTTPAdapter):
    """The API's transport: paced, each response read within a deadline and parsed once, and no
    redirect followed off the API's origin.

    Pacing: at most the advertised number of requests in any one-second window of the server's.
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

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        for _ in range(MAX_RATE_LIMIT_RETRIES):
            self._take_slot()
            self.requests_sent += 1
            response = None
            try:
                response = self._answer_within_deadline(request, **kwargs)
                self.bytes_received += len(response.content)
                self._learn_limits(response)
            finally:
                self._settle_slot(response)
            _refuse_foreign_redirect(response)
            if _is_success(response):
                _parse_json_once(response)
            if response.status_code != 429:
                return response
            wait = _retry_after(response)
            if wait > MAX_RATE_LIMIT_WAIT or response.headers.get("X-Hourly-RateLimit-Remaining") == "0":
                return response  # the hourly budget is spent: waiting seconds will not help
            response.close()
            time.sleep(wait)
        return response

    def _answer_within_deadline(self, request: PreparedRequest, **kwargs: Any) -> Response:
        """The response with its whole body read, or ReadTimeout once the configured request timeout
        has passed since sending. requests applies that timeout to each socket read, so a server
        that trickles its body a byte at a time would otherwise hold the request open forever."""
        started = time.monotonic()
        response = super().send(request, **kwargs)
        limit = _read_timeout(kwargs.get("timeout"))
        connection = response.raw.connection if response.raw is not None else None
        if limit is None or connection is None or connection.sock is None:
            return response
        # Cutting the socket from another thread is what ends a read that is blocked in recv().
        watchdog = threading.Timer(max(0.0, started + limit - time.monotonic()), _cut, (connection.sock,))
        watchdog.daemon = True
        watchdog.start()
        try:
            response.content  # noqa: B018 - read the body while the watchdog runs
        except RequestException:
            if time.monotonic() - started < limit:
                raise
            raise ReadTimeout(f"no complete answer within {limit:g} s", request=request) from None
        finally:
            watchdog.cancel()
        return response


def _read_timeout(timeout: Any) -> float | None:
    """The whole-response deadline: dlt's request_timeout ([runtime] in .dlt/config.toml), which
    the session passes to every send, as one number or as (connect, read)."""
    if isinstance(timeout, tuple):
        timeout = timeout[1]
    return float(timeout) if isinstance(timeout, (int, float)) else None


def _cut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: the read has ended anyway


def _refuse_foreign_redirect(response: Response) -> None:
    """requests would follow a redirect to any host, the 401 handler would then hand that host a
    fresh token, and a 307 re-posts the client secret: refuse before anything goes there."""
    if not response.is_redirect:
        return
    target = urljoin(response.request.url, response.headers["Location"])
    if _origin(target) == _origin(response.request.url):
        return
    _, host, port = _origin(target)
    response.close()
    raise ApiMisbehaved(
        f"{request_line(response.request)} was redirected to {host}:{port}; refusing to send credentials "
        "there; check API_ROOT (it must be the API's own address)"
    )


def _parse_json_once(response: Response) -> None:
    """Replace `response.json` by the parse of the body, done here once: dlt's JSON (orjson) is
    three times faster than requests' own. A body that is not JSON makes `response.json()` raise
    ApiMisbehaved with the line to show, and `_is_unreadable_success` asks dlt to retry it."""
    try:
        body = json.loadb(response.content)
    except ValueError:
        body = _parse_with_stdlib(response)
    if isinstance(body, ApiMisbehaved):
        def unreadable(**_: Any) -> Any:
            raise body
        response.json = unreadable
    else:
        response.json = lambda **_: body


def _parse_with_stdlib(response: Response) -> Any:
    """orjson refuses a lone surrogate escape (`"\\ud800"`), which JSON allows: the standard parser
    reads it and the schema deals with the value. Anything else it refuses is not JSON."""
    try:
        return std_json.loads(response.content.decode("utf-8"))
    except ValueError:
        content_type = response.headers.get("Content-Type", "no Content-Type").split(";")[0]
        return ApiMisbehaved(
            f"{request_line(response.request)} answered {response.status_code} with a body that is not JSON "
            f"({content_type}, {len(response.content)} bytes) after retrying; check API_ROOT, or run again later"
        )


def _is_success(response: Response) -> bool:
    return 200 <= response.status_code < 300


def _is_unreadable_success(response: Response | None, exception: BaseException | None) -> bool:
    """dlt's retry condition: a 200 whose body is not JSON (cut off, an HTML error page from a
    proxy, empty) is a transport fault: retry it like a 5xx."""
    if response is None or not _is_success(response):
        return False
    try:
        response.json()
    except ApiMisbehaved:
        return True
    return False


def _retry_after(response: Response) -> float:
    """Seconds a 429 asks us to wait; without a header, the secondly window is the likely cause."""
    value = response.headers.get("Retry-After", "")
    return float(value) if value.replace(".", "", 1).isdigit() else 1.0


def api_session() -> tuple[Session, RateLimitedAdapter]:
    client = Client(
        raise_for_status=False,
        # 429s are the adapter's job; dlt retries only what is worth retrying blindly.
        status_codes=tuple(range(500, 600)),
        retry_condition=_is_unreadable_success,
    )
    client.configure()  # request timeout and retry counts from .dlt/config.toml [runtime]
    session = client.session
    adapter = RateLimitedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session, adapter
