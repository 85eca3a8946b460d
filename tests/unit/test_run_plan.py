"""What a sync lists per table: due or not, full or incremental, the window, and the budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from pipelines.ft42 import listing_params
from pipelines.ft42.declaration import listing_of
from pipelines.ledger import LastRuns, ListingPass, PassState
from pipelines.settings import load_settings
from pipelines.table_plan import fit_budget, plan_table

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=timezone.utc)
NEVER = LastRuns(cursor=None, last_full_at=None)
RECENT = LastRuns(cursor=NOW - timedelta(hours=6), last_full_at=NOW - timedelta(hours=18))


USERS = listing_of("users")
CURSUS_USERS = listing_of("cursus_users")


def plan(last: LastRuns, listing=USERS, **env: str):
    return plan_table(listing, last, load_settings(env).sync, NOW)


def test_the_first_run_on_a_database_lists_everyone():
    run = plan(NEVER)
    assert (run.mode, run.cursor_before, run.updated_between) == ("full", None, None)
    assert run.reason == "never listed on this database yet"


def test_full_1_lists_everyone_even_right_after_a_full_listing():
    run = plan(RECENT, FULL="1")
    assert (run.mode, run.updated_between) == ("full", None)
    assert "FULL=1" in run.reason
    assert plan(RECENT, FULL="0").mode == "incremental"


@pytest.mark.parametrize("max_age, mode", [("17", "full"), ("19", "incremental")])
def test_a_full_listing_older_than_full_sync_max_age_hours_is_redone(max_age, mode):
    run = plan(RECENT, FULL_SYNC_MAX_AGE_HOURS=max_age)
    assert run.mode == mode
    if mode == "full":
        assert run.reason == "the last full listing is 18.0 h old"


def test_the_default_max_age_is_a_day():
    assert plan(LastRuns(RECENT.cursor, NOW - timedelta(hours=23))).mode == "incremental"
    assert plan(LastRuns(RECENT.cursor, NOW - timedelta(hours=25))).mode == "full"


@pytest.mark.parametrize("lag, since", [({}, "05:50:00"), ({"INCREMENTAL_LAG_MINUTES": "0"}, "06:00:00"),
                                        ({"INCREMENTAL_LAG_MINUTES": "90"}, "04:30:00")])
def test_an_incremental_window_starts_incremental_lag_minutes_before_the_cursor(lag, since):
    run = plan(RECENT, **lag)
    start = datetime.fromisoformat(f"2026-03-14T{since}+00:00")
    assert run.mode == "incremental"
    assert run.cursor_before == start
    assert run.updated_between == (start, NOW)  # up to this run's start: the next one's cursor
    assert run.reason == f"changed since 2026-03-14 {since} UTC"


def test_a_full_listing_asks_for_current_students_only():
    assert listing_params(USERS, None) == {"filter[kind]": "student", "filter[alumni?]": "false"}


def test_an_incremental_window_asks_for_every_user_changed_in_it():
    since = datetime(2026, 3, 14, 5, 50, 0, 123456, tzinfo=timezone.utc)
    until = datetime(2026, 3, 14, 12, 0, 0, 250000, tzinfo=timezone.utc)
    # No kind or alumni filter: a student who just became alumni must be returned to leave users.
    assert listing_params(USERS, (since, until)) == {"range[updated_at]": "2026-03-14T05:50:00Z,2026-03-14T12:00:01Z"}


def test_an_incremental_window_ends_a_second_after_the_run_started():
    # The API compares whole seconds; a change at 12:00:00.400 must fall inside a run started at 12:00:00.000.
    since = datetime(2026, 3, 14, 11, 0, 0, tzinfo=timezone.utc)
    params = listing_params(USERS, (since, datetime(2026, 3, 14, 12, 0, 0, tzinfo=timezone.utc)))
    assert params["range[updated_at]"].split(",")[1] == "2026-03-14T12:00:01Z"


@pytest.mark.parametrize("listed_ago, due", [(None, True), (timedelta(hours=1), False),
                                             (timedelta(hours=5, minutes=55), True), (timedelta(hours=7), True)])
def test_a_table_kept_current_by_full_listings_is_due_once_its_max_age_is_near(listed_ago, due):
    last = LastRuns(None, None if listed_ago is None else NOW - listed_ago)
    run = plan(last, CURSUS_USERS)
    assert CURSUS_USERS.max_age_hours == 6
    assert run.mode == ("full" if due else None)
    assert run.updated_between is None  # levels do not move updated_at: only a full listing sees them
    assert plan(last, CURSUS_USERS, FULL="1").mode == "full"


def sized(listing, total, mode="full"):
    run = plan(NEVER, listing)
    return run.__class__(listing, mode, NOW, None, "test", total=total)


def test_requests_count_every_page_and_the_short_or_empty_one_that_ends_the_listing():
    assert [sized(USERS, total).requests for total in (0, 99, 100, 250, 40335)] == [1, 1, 2, 3, 404]


def test_the_budget_defers_what_does_not_fit_smallest_first_and_users_before_all():
    plans = [sized(USERS, 250), sized(CURSUS_USERS, 450), sized(listing_of("coalitions"), 350),
             sized(listing_of("projects"), 530)]
    decided = fit_budget(plans, 10)
    assert [plan.table for plan in decided] == [plan.table for plan in plans]  # the order stays
    waiting = {plan.table: plan.deferred for plan in decided if plan.deferred}
    # 10 less a reserve of 1: users 3, coalitions 4 fit (7); projects 6 and cursus_users 5 do not fit the 2 left.
    assert waiting == {"cursus_users": "needs 5 requests, 2 left in this hour's budget",
                       "projects": "needs 6 requests, 2 left in this hour's budget"}
    assert "waits for a later run: needs 5 requests" in decided[1].line()
    assert fit_budget(plans, None) == plans  # the API did not say: nothing waits


def big_table(listing: str, remaining: int, *, completed: bool = False, position: int = 0):
    active = ListingPass(7, "reconcile" if completed else "backfill", NOW - timedelta(days=1), position, 500,
                         remaining + 500) if position else None
    passes = PassState(active, NOW - timedelta(days=2) if completed else None)
    run = plan_table(listing_of(listing), LastRuns(None, None), load_settings({}).sync, NOW, passes)
    return replace(run, pass_=replace(run.pass_, remaining=remaining))


def test_a_big_table_is_backfilled_from_where_its_pass_stopped_until_a_pass_completes():
    run = big_table("projects_users", 20_000, position=4242)
    assert (run.mode, run.updated_between, run.requests) == ("backfill", None, 0)
    assert (run.pass_.kind, run.pass_.after_id, run.pass_.needed) == ("backfill", 4242, 201)
    fresh = big_table("projects_users", 20_000)
    assert (fresh.pass_.active, fresh.pass_.after_id) == (None, 0)


def test_once_complete_a_big_table_lists_its_changes_from_the_pass_start_and_reconciles():
    run = big_table("projects_users", 20_000, completed=True)
    assert run.mode == "incremental"
    # No window has run yet: the first starts where the complete pass began, less the lag.
    assert run.updated_between == (NOW - timedelta(days=2, minutes=10), NOW)
    assert run.pass_.kind == "reconcile"


def test_the_budget_left_after_the_tables_due_is_shared_between_the_passes():
    small = sized(USERS, 250)  # 3 requests
    first, second = big_table("projects_users", 100_000), big_table("achievements_users", 2_000)
    decided = fit_budget([small, first, second], 1000)
    shares = {plan.table: plan.pass_.requests for plan in decided if plan.pass_}
    # 1000 less a reserve of 20, less users' 3: 977. achievements_users needs only 21; the rest goes on.
    assert shares == {"achievements_users": 21, "projects_users": 956}
    assert fit_budget([small, first], None)[1].pass_.requests == 1001  # no budget said: to the end
