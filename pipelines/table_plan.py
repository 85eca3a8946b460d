"""What a run lists: per table, whether it is due, full or incremental, and whether it fits the
hourly request budget. Pure functions of the ledger's history, the settings and the budget; the
sync and `ft42 plan` both use them, so the plan printed is the plan run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from .ft42 import PAGE_SIZE
from .ft42.declaration import Listing
from .ledger import LastRuns, ListingPass, PassState
from .settings import SyncSettings

# A table declared to be listed every N hours is due a little early: a cron job every N hours
# starts each run a few seconds short of N hours after the last, and must not skip every other.
EARLY = timedelta(minutes=10)
# Left unplanned in each hour's budget for what no plan can count: a retried request, a token.
RESERVE_SHARE = 0.02


@dataclass(frozen=True)
class PassPlan:
    """This run's part of a pass over a big table."""

    kind: str  # backfill: the table's first pass; reconcile: a later one, which finds deletions
    active: ListingPass | None  # the pass to resume; None: start one
    remaining: int | None = None  # X-Total past the pass's position, once asked
    requests: int = 0  # allotted from this run's budget

    @property
    def after_id(self) -> int:
        return self.active.position if self.active else 0

    @property
    def needed(self) -> int | None:
        """Requests to finish the pass: a page per PAGE_SIZE records and the page that ends it."""
        return None if self.remaining is None else self.remaining // PAGE_SIZE + 1

    def describe(self) -> str:
        seen = self.active.rows_seen if self.active else 0
        done = f"{seen} rows so far" if self.active else "starts"
        if self.remaining is not None and seen + self.remaining:
            done += f" ({100 * seen / (seen + self.remaining):.1f} %)"
        left = "" if self.needed is None else f", {self.needed} requests to its end"
        pace = ""
        if self.needed and self.requests:
            pace = f" (about {math.ceil(self.needed / self.requests)} runs at this pace)"
        return f"{self.kind} pass {done}{left}; {self.requests} requests this run{pace}"


@dataclass(frozen=True)
class TablePlan:
    listing: Listing
    mode: Literal["full", "incremental", "backfill"] | None  # None: not due this run
    started_at: datetime  # the run's start: the next incremental window of the table starts here
    cursor_before: datetime | None  # where an incremental window starts
    reason: str
    total: int | None = None  # X-Total of the listing's query, once asked
    deferred: str | None = None  # why it waits for a later run although due
    pass_: PassPlan | None = None  # a big table's pass, resumed or started with the budget left
    error: str | None = None  # why it could not be planned (its size request failed)

    @property
    def table(self) -> str:
        return self.listing.table

    @property
    def updated_between(self) -> tuple[datetime, datetime] | None:
        return None if self.mode != "incremental" else (self.cursor_before, self.started_at)

    @property
    def runs(self) -> bool:
        return self.mode is not None and self.deferred is None and self.error is None

    @property
    def requests(self) -> int | None:
        """Requests the listing (or window) takes: a page per PAGE_SIZE records, and the short or
        empty page that ends it. A backfill's pass is planned apart."""
        if self.mode == "backfill":
            return 0
        return None if self.total is None else self.total // PAGE_SIZE + 1

    def line(self) -> str:
        """One log line: what the run does with this table, and why."""
        if self.mode is None:
            return f"{self.table}: not due ({self.reason})"
        if self.error:
            return f"{self.table}: {self.error}"
        what = f"{self.mode} ({self.reason})"
        size = "" if self.total is None else f", {self.total} records in {self.requests} requests"
        if self.deferred:
            return f"{self.table}: waits for a later run: {self.deferred}; due for a {what}{size}"
        passing = f"; {self.pass_.describe()}" if self.pass_ else ""
        return f"{self.table}: {what}{size}{passing}"


def plan_table(listing: Listing, last: LastRuns, sync: SyncSettings, now: datetime,
               passes: PassState | None = None) -> TablePlan:
    def plan(mode, reason, cursor_before=None) -> TablePlan:
        return TablePlan(listing, mode, now, cursor_before, reason)

    if listing.keep_current == "backfill":
        return _plan_big_table(listing, last, sync, now, passes or PassState(None, None))

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


def _plan_big_table(listing: Listing, last: LastRuns, sync: SyncSettings, now: datetime,
                    passes: PassState) -> TablePlan:
    """Before its first complete pass a big table is backfilled; after, each run lists what
    changed since the last and spends what budget is left on a reconcile pass."""
    if not passes.completed:
        return TablePlan(listing, "backfill", now, None, "no pass has listed the whole table yet",
                         pass_=PassPlan("backfill", passes.active))
    since = (last.cursor or passes.completed_started_at) - timedelta(minutes=sync.lag_minutes)
    return TablePlan(listing, "incremental", now, since, f"changed since {since:%Y-%m-%d %H:%M:%S} UTC",
                     pass_=PassPlan(passes.active.kind if passes.active else "reconcile", passes.active))


def fit_budget(plans: list[TablePlan], remaining: int | None) -> list[TablePlan]:
    """Defer each due table whose listing the hourly budget left cannot finish, smallest first
    (users always first: it is what everything else is read against), so that a short budget
    completes as many tables as it can; then share what is left, less a small reserve, between
    the passes of the big tables. `remaining` None: the API did not say; nothing waits, and each
    pass may run to its end."""
    if remaining is None:
        return [replace(plan, pass_=replace(plan.pass_, requests=plan.pass_.needed or 0))
                if plan.pass_ and plan.runs else plan for plan in plans]
    spare = remaining - math.ceil(remaining * RESERVE_SHARE)
    order = sorted((plan for plan in plans if plan.runs),
                   key=lambda plan: (plan.table != "users", plan.requests or 0))
    decided = {}
    for plan in order:
        needed = plan.requests if plan.requests is not None else 1
        if needed <= spare:
            spare -= needed
        else:
            decided[plan.table] = replace(
                plan, deferred=f"needs {needed} requests, {spare} left in this hour's budget")
    passes = sorted((plan for plan in plans if plan.pass_ and plan.table not in decided and plan.runs),
                    key=lambda plan: plan.pass_.needed or 0)
    for index, plan in enumerate(passes):
        share = min(spare // (len(passes) - index), plan.pass_.needed or 0)
        spare -= share
        decided[plan.table] = replace(plan, pass_=replace(plan.pass_, requests=share))
    return [decided.get(plan.table, plan) for plan in plans]
