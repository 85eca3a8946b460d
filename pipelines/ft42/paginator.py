"""Keyset paging over the user id, with a check of the hourly request budget up front.

Offset paging (`page=N`, or following `Link: rel="next"`) over a set that changes while it is
read skips a row whenever an earlier row leaves the set. Asking each time for the ids after the
last one seen (`range[id]=<last+1>,<max>`, sorted by id) cannot skip: a user who stays in the set
for the whole run is always read, and none is read twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

MAX_ID = 2**31 - 1


class RateBudgetExceeded(Exception):
    pass


class IdKeysetPaginator(BasePaginator):
    def __init__(self, page_size: int, on_page: Callable[[int, int], None] | None = None) -> None:
        super().__init__()
        self.page_size = page_size
        self.after_id = 0
        self.total: int | None = None  # X-Total of the first page: the size of the whole set
        self.fetched = 0
        self.on_page = on_page  # called with (users fetched so far, users in the set)

    def init_request(self, request: Request) -> None:
        self._ask_after(request, self.after_id)

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        data = data or []
        if self.total is None:
            self.total = int(response.headers.get("X-Total", len(data)))
            self._check_hourly_budget(response)
        if data:
            self.after_id = max(user["id"] for user in data)
        self.fetched += len(data)
        # X-Total counts this query's users, the ones after the cursor: when this page holds
        # them all, asking for the next one (empty) would only spend a request of the budget.
        holds_the_rest = response.headers.get("X-Total") == str(len(data))
        self._has_next_page = len(data) >= self.page_size and not holds_the_rest
        if self.on_page:
            self.on_page(self.fetched, self.total)

    def update_request(self, request: Request) -> None:
        self._ask_after(request, self.after_id)

    def _ask_after(self, request: Request, after_id: int) -> None:
        if request.params is None:
            request.params = {}
        request.params["range[id]"] = f"{after_id + 1},{MAX_ID}"

    def _check_hourly_budget(self, response: Response) -> None:
        """Refuse to start a listing the hourly budget cannot finish: it could only end half-read."""
        remaining = response.headers.get("X-Hourly-RateLimit-Remaining", "")
        if not remaining.isdigit():
            return
        needed = math.ceil(self.total / self.page_size) - 1  # the pages after this one
        if needed > int(remaining):
            limit = response.headers.get("X-Hourly-RateLimit-Limit", "?")
            latest_reset = datetime.now(timezone.utc) + timedelta(hours=1)
            raise RateBudgetExceeded(
                f"the listing needs {needed} more requests but only {remaining} of the hourly budget of "
                f"{limit} remain; run again after {latest_reset:%H:%M} UTC, when the hour has passed"
            )
