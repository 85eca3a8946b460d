"""What a run lists: per table, whether it is due, full or incremental, and whether it fits the
hourly request budget. Pure functions of the ledger's history, the settings and the budget; the
sync and `ft42 plan` both use them, so the plan printed is the plan run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from .ft42 import PAGE_SIZE
from .ft42.declaration import Listing
from .ledger import LastRuns
from .settings import SyncSettings

# A table declared to be listed every N hours is due a little early: a cron job every N hours
# starts each run a few seconds short of N hours after the last, and must not skip every other.
EARLY = timedelta(minutes=10)


@dataclass(frozen=True)
class TablePlan:
    listing: Listing
    mode: Literal["full", "incremental"] | None  # None: not due this run
    started_at: datetime  # the run's start: the next incremental window of the table starts here
    cursor_before: datetime | None  # where an incremental window starts
    reason: str
    total: int | None = None  # X-Total of the listing's query, once asked
    deferred: str | None = None  # why it waits for a later run although due

    @property
    def table(self) -> str:
        return self.listing.table

    @property
    def updated_between(self) -> tuple[datetime, datetime] | None:
        return None if self.mode != "incremental" else (self.cursor_before, self.started_at)

    @property
    def runs(self) -> bool:
        return self.mode is not None and self.deferred is None

    @property
    def requests(self) -> int | None:
        """Requests the listing takes: a page per PAGE_SIZE records, and the short or empty page
        that ends it."""
        return None if self.total is None else self.total // PAGE_SIZE + 1

    def line(self) -> str:
        """One log line: what the run does with this table, and why."""
        if self.mode is None:
            return f"{self.table}: not due ({self.reason})"
        what = f"{self.mode} ({self.reason})"
        size = "" if self.total is None else f", {self.total} records in {self.requests} requests"
        if self.deferred:
            return f"{self.table}: waits for a later run: {self.deferred}; due for a {what}{size}"
        return f"{self.table}: {what}{size}"


def plan_table(listing: Listing, last: LastRuns, sync: SyncSettings, now: datetime) -> TablePlan:
    def plan(mode, reason, cursor_before=None) -> TablePlan:
        return TablePlan(listing, mode, now, cursor_before, reason)

    if sync.force_full:
        return plan("full", "asked for with FULL=1")
    if last.last_full_at is None or (listing.keep_current == "incremental" and last.cursor is None):
        return plan("full", "never listed on this database yet")
    age = now - last.last_full_at
    hours = f"{age.total_seconds() / 3600:.1f} h"
    if listing.keep_current == "full":
        max_age = timedelta(hours=listing.max_age_hours or 0)
        every = f"every {listing.max_age_hours:g} h" if listing.max_age_hours else "every run"
        if age >= max_age - EARLY:
            return plan("full", f"listed {hours} ago, relisted {every}")
        return plan(None, f"listed {hours} ago, relisted {every}")
    if age > timedelta(hours=sync.full_max_age_hours):
        return plan("full", f"the last full listing is {hours} old")
    # Reach back a little: a change committed upstream just before the last run may carry an
    # updated_at a moment older than that run's start.
    since = last.cursor - timedelta(minutes=sync.lag_minutes)
    return plan("incremental", f"changed since {since:%Y-%m-%d %H:%M:%S} UTC", since)


def fit_budget(plans: list[TablePlan], remaining: int | None) -> list[TablePlan]:
    """Defer each due table whose listing the hourly budget left cannot finish, smallest first
    (users always first: it is what everything else is read against), so that a short budget
    completes as many tables as it can. `remaining` None: the API did not say; nothing waits."""
    if remaining is None:
        return plans
    order = sorted((plan for plan in plans if plan.runs),
                   key=lambda plan: (plan.table != "users", plan.requests or 0))
    decided = {}
    for plan in order:
        needed = plan.requests or 1
        if needed <= remaining:
            remaining -= needed
        else:
            decided[plan.table] = replace(
                plan, deferred=f"needs {needed} requests, {remaining} left in this hour's budget")
    return [decided.get(plan.table, plan) for plan in plans]
