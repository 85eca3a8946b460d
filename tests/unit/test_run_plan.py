"""What a sync lists per table: due or not, full or incremental, the window, and the budget."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pipelines.ft42 import listing_params
from pipelines.ft42.declaration import listing_of
from pipelines.ledger import LastRuns
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
    # users 3, coalitions 4 fit (7); projects 6 and cursus_users 5 do not fit the 3 left.
    assert waiting == {"cursus_users": "needs 5 requests, 3 left in this hour's budget",
                       "projects": "needs 6 requests, 3 left in this hour's budget"}
    assert "waits for a later run: needs 5 requests" in decided[1].line()
    assert fit_budget(plans, None) == plans  # the API did not say: nothing waits
