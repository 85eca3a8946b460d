"""Request pacing from the API's rate-limit headers, on a simulated clock: at most `per_second`
requests in any second, each counted from when its response arrived."""

from __future__ import annotations

import pytest
from requests import Response

from pipelines.ft42 import http


class WouldWaitForever(Exception):
    """Every slot is held by a request still in flight: only a response can free one."""


class SimulatedClock:
    """time.monotonic for the adapter, and a condition whose timed wait moves the clock on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def wait(self, timeout: float | None = None) -> None:
        if timeout is None:
            raise WouldWaitForever
        self.now += timeout

    def notify_all(self) -> None:
        pass


@pytest.fixture
def clock(monkeypatch) -> SimulatedClock:
    clock = SimulatedClock()
    monkeypatch.setattr(http.time, "monotonic", clock.monotonic)
    return clock


@pytest.fixture
def adapter(clock) -> http.RateLimitedAdapter:
    adapter = http.RateLimitedAdapter()
    adapter._window_changed = clock
    return adapter


def response(**headers: str) -> Response:
    answer = Response()
    answer.status_code = 200
    answer.headers.update({name.replace("_", "-"): value for name, value in headers.items()})
    return answer


def request(adapter, clock, answered_after: float, remaining: str | None = None) -> float:
    """Send one request (waiting for a slot) and settle it; return when it was sent."""
    adapter._take_slot()
    sent = clock.now
    clock.now += answered_after
    headers = {} if remaining is None else {"X_Secondly_RateLimit_Remaining": remaining}
    adapter._settle_slot(response(**headers))
    return sent


def test_at_most_two_requests_in_any_second_counted_from_their_responses(adapter, clock):
    start = clock.now
    sent = [request(adapter, clock, answered_after=0.3, remaining="1") for _ in range(5)]
    # The first two go at once; each next one waits until a second after an earlier response.
    assert [round(t - start, 3) for t in sent] == [0.0, 0.3, 1.3, 1.6, 2.6]
    responses = [t + 0.3 for t in sent]
    for i in range(len(sent)):
        counted = [r for r in responses[:i] if sent[i] - r < 1.0]
        assert len(counted) < adapter.per_second


def test_a_second_means_a_whole_second(adapter, clock):
    start = clock.now
    request(adapter, clock, answered_after=0.0, remaining="1")
    request(adapter, clock, answered_after=0.0, remaining="0")
    clock.now += 0.95
    assert round(request(adapter, clock, answered_after=0.0) - start, 3) == 1.0


def test_a_request_counts_from_its_response_however_late_it_arrives(adapter, clock):
    start = clock.now
    request(adapter, clock, answered_after=0.0, remaining="1")
    request(adapter, clock, answered_after=4.0, remaining="1")  # answered at +4.0
    assert round(request(adapter, clock, answered_after=0.0) - start, 3) == 4.0  # the first's second ended long ago
    assert round(request(adapter, clock, answered_after=0.0) - start, 3) == 5.0  # one second after +4.0


def test_requests_in_flight_hold_their_slots_until_answered(adapter, clock):
    adapter._take_slot()
    adapter._take_slot()
    with pytest.raises(WouldWaitForever):
        adapter._take_slot()


def test_a_response_that_was_not_counted_gives_its_slot_back(adapter, clock):
    start = clock.now
    # The token endpoint answers with the whole secondly budget still left: it did not count.
    request(adapter, clock, answered_after=0.1, remaining="2")
    first_page = request(adapter, clock, answered_after=0.1, remaining="1")
    second_page = request(adapter, clock, answered_after=0.1, remaining="0")
    assert round(first_page - start, 3) == 0.1 and round(second_page - start, 3) == 0.2
    assert round(request(adapter, clock, answered_after=0.1) - start, 3) == 1.2


@pytest.mark.parametrize("remaining", ["1", "0", None, "many"])
def test_a_response_that_may_have_counted_keeps_its_slot(adapter, clock, remaining):
    start = clock.now
    request(adapter, clock, answered_after=0.0, remaining=remaining)
    request(adapter, clock, answered_after=0.0, remaining="0")
    assert round(request(adapter, clock, answered_after=0.0) - start, 3) == 1.0


def test_a_request_without_a_response_counts(adapter, clock):
    start = clock.now
    for _ in range(2):
        adapter._take_slot()
        adapter._settle_slot(None)  # a dropped connection: the server may have counted it
    adapter._take_slot()
    assert clock.now - start == 1.0


def test_the_advertised_limit_replaces_the_default(adapter, clock):
    assert adapter.per_second == 2  # the API's default until a response says otherwise
    adapter._learn_limits(response(X_Secondly_RateLimit_Limit="5"))
    assert adapter.per_second == 5
    start = clock.now
    sent = [request(adapter, clock, answered_after=0.0, remaining="4") for _ in range(6)]
    assert [t - start for t in sent] == [0.0] * 5 + [1.0]


@pytest.mark.parametrize("header", [{}, {"X_Secondly_RateLimit_Limit": "0"},
                                    {"X_Secondly_RateLimit_Limit": "lots"}, {"X_Secondly_RateLimit_Limit": ""}])
def test_a_missing_or_unusable_limit_keeps_the_last_known_one(adapter, header):
    adapter._learn_limits(response(X_Secondly_RateLimit_Limit="8"))
    adapter._learn_limits(response(**header))
    assert adapter.per_second == 8
