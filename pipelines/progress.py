"""Live progress of the fetch on a terminal; nothing per page when nobody watches (cron)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .ft42 import PAGE_SIZE


class FetchProgress:
    """Rewrites one line: pages done / total (from X-Total), request rate and time left."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.shown = False

    def __deepcopy__(self, memo: dict) -> FetchProgress:
        return self  # dlt copies its paginator per request chain; there is only one screen line

    def __call__(self, fetched: int, total: int) -> None:
        pages_total = max(1, -(-total // PAGE_SIZE))
        pages_done = min(pages_total, -(-fetched // PAGE_SIZE))
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = pages_done / elapsed
        eta = (pages_total - pages_done) / rate if rate else 0
        self.stream.write(f"\r  fetching: {pages_done}/{pages_total} pages, {fetched}/{total} users, "
                          f"{rate:.1f} req/s, ETA {int(eta) // 60}m{int(eta) % 60:02d}s ")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def interactive() -> bool:
    return sys.stderr.isatty()
