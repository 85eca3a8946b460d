"""Keyset paging over the record id, with a check of the hourly request budget up front.

Offset paging (`page=N`, or following `Link: rel="next"`) over a set that changes while it is
read skips a row whenever an earlier row leaves the set. Asking each time for the ids after the
last one seen (`range[id]=<last+1>,<max>`, sorted by id) cannot skip: a record that stays in the set
for the whole run is always read, and none is read twice.

A listing is complete only when that keyset reaches a short or empty page. Each page is checked
against what the query asked for (a JSON array of records, ids rising strictly above the cursor),
because a page that is not what it claims would end the listing early and remove the rows it
hid: a run that cannot trust a page fails instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

from .http import ApiMisbehaved, request_line
from .schema import REPORT_IT, BadRecord, record_id

MAX_ID = 2**31 - 1
# What to do about a page that breaks the listing's rules: it may be a passing fault upstream.
RUN_AGAIN = "run again later, and report it if it persists"


class RateBudgetExceeded(Exception):
    pass


class IdKeysetPaginator(BasePaginator):
    """Pages from `after_id` on. With `max_pages`, a chunk of the listing: it stops after that
    many pages, and `reached_end` tells whether the listing itself ended there."""

    def __init__(self, page_size: int, on_page: Callable[[int, int], None] | None = None,
                 item_name: str = "user", after_id: int = 0, max_pages: int | None = None) -> None:
        super().__init__()
        self.page_size = page_size
        self.item_name = item_name  # what one record is called in a message
        self.after_id = after_id
        self.max_pages = max_pages
        self.pages = 0
        self.reached_end = False  # a short or empty page ended the listing
        self.total: int | None = None  # X-Total of the first page: the size of the whole set
        self.fetched = 0
        self.on_page = on_page  # called with (records fetched so far, records in the set)

    def init_request(self, request: Request) -> None:
        self._ask_after(request, self.after_id)

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        # The body itself, not dlt's extract of it, which reads `null` or an object as a page.
        records = _listed_records(response, self.item_name)
        ids = self._rising_ids(response, records)
        if self.total is None:
            self.total = _x_total(response) or len(records)
            self._check_hourly_budget(response)
        if ids:
            self.after_id = ids[-1]
        self.fetched += len(records)
        self.pages += 1
        # X-Total is a count the server may get wrong: only a short or empty page ends a listing.
        self.reached_end = len(records) < self.page_size
        self._has_next_page = not self.reached_end and (self.max_pages is None or self.pages < self.max_pages)
        if self.on_page:
            self.on_page(self.fetched, self.total)

    def update_request(self, request: Request) -> None:
        self._ask_after(request, self.after_id)

    def _ask_after(self, request: Request, after_id: int) -> None:
        if request.params is None:
            request.params = {}
        request.params["range[id]"] = f"{after_id + 1},{MAX_ID}"

    def _rising_ids(self, response: Response, records: list[Any]) -> list[int]:
        """The page's ids, each above the one before and the first above the cursor: the order the
        query asked for. A repeated or out-of-order id means the paging cannot be trusted."""
        ids: list[int] = []
        previous = self.after_id
        for record in records:
            try:
                current = record_id(record, self.item_name)
            except ValueError as problem:
                after = f"{self.item_name} {previous}" if previous else "the start of the listing"
                raise BadRecord(f"the {self.item_name} listed after {after} {problem} "
                                f"({request_line(response.request)}); {REPORT_IT}") from None
            if current <= previous:
                raise ApiMisbehaved(
                    f"{request_line(response.request)} listed {self.item_name} {current} after {self.item_name} "
                    f"{previous}, but the ids of a listing sorted by id rise strictly: a repeated or out-of-order "
                    f"record means the API's paging cannot be trusted; {RUN_AGAIN}"
                )
            ids.append(current)
            previous = current
        return ids

    def _check_hourly_budget(self, response: Response) -> None:
        """Refuse to start a listing the hourly budget cannot finish: it could only end half-read."""
        remaining = response.headers.get("X-Hourly-RateLimit-Remaining", "")
        if not remaining.isdigit():
            return
        needed = math.ceil(self.total / self.page_size) - 1  # the pages after this one
        if self.max_pages is not None:
            needed = min(needed, self.max_pages - 1)
        if needed > int(remaining):
            limit = response.headers.get("X-Hourly-RateLimit-Limit", "?")
            latest_reset = datetime.now(timezone.utc) + timedelta(hours=1)
            raise RateBudgetExceeded(
                f"the listing needs {needed} more requests but only {remaining} of the hourly budget of "
                f"{limit} remain; run again after {latest_reset:%H:%M} UTC, when the hour has passed"
            )


def _x_total(response: Response) -> int | None:
    value = response.headers.get("X-Total", "").strip()
    return int(value) if value.isdigit() else None


_JSON_KINDS = {type(None): "null", dict: "a JSON object", str: "a JSON string", int: "a JSON number",
               float: "a JSON number", bool: "a JSON boolean"}


def _listed_records(response: Response, item_name: str) -> list[Any]:
    """The page as the JSON array it must be. An empty one is believed only if X-Total agrees
    (absent or 0): otherwise it would end the listing with records still to read."""
    body = response.json()
    if not isinstance(body, list):
        shape = _JSON_KINDS.get(type(body), "a JSON value")
        raise ApiMisbehaved(
            f"{request_line(response.request)} answered {response.status_code} with {shape} instead of a list "
            f"of {item_name}s; {RUN_AGAIN}"
        )
    x_total = response.headers.get("X-Total", "").strip()
    if not body and x_total not in ("", "0"):
        raise ApiMisbehaved(
            f"{request_line(response.request)} answered an empty page, but its X-Total says {x_total[:20]} "
            f"{item_name}s remain; ending the listing there would remove them; {RUN_AGAIN}"
        )
    return body
