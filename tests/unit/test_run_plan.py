"""Which listing a sync asks the API for: full or incremental, and the incremental window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pipelines.ft42 import listing_params
from pipelines.ledger import LastRuns
from pipelines.settings import load_settings
from pipelines.sync import plan_run

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=timezone.utc)
NEVER = LastRuns(cursor=None, last_full_at=None)
RECENT = LastRuns(cursor=NOW - timedelta(hours=6), last_full_at=NOW - timedelta(hours=18))


def plan(last: LastRuns, **env: str):
    return plan_run(last, load_settings(env).sync, NOW)


def test_the_first_run_on_a_database_lists_everyone():
    run = plan(NEVER)
    assert (run.mode, run.cursor_before, run.updated_between) == ("full", None, None)
    assert run.reason == "no full listing has succeeded on this database yet"


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
    assert run.reason == f"users changed since 2026-03-14 {since} UTC"


def test_a_full_listing_asks_for_current_students_only():
    assert listing_params(None) == {"filter[kind]": "student", "filter[alumni?]": "false"}


def test_an_incremental_window_asks_for_every_user_changed_in_it():
    since = datetime(2026, 3, 14, 5, 50, 0, 123456, tzinfo=timezone.utc)
    until = datetime(2026, 3, 14, 12, 0, 0, 250000, tzinfo=timezone.utc)
    # No kind or alumni filter: a student who just became alumni must be returned to leave users.
    assert listing_params((since, until)) == {"range[updated_at]": "2026-03-14T05:50:00Z,2026-03-14T12:00:01Z"}


def test_an_incremental_window_ends_a_second_after_the_run_started():
    # The API compares whole seconds; a change at 12:00:00.400 must fall inside a run started at 12:00:00.000.
    since = datetime(2026, 3, 14, 11, 0, 0, tzinfo=timezone.utc)
    params = listing_params((since, datetime(2026, 3, 14, 12, 0, 0, tzinfo=timezone.utc)))
    assert params["range[updated_at]"].split(",")[1] == "2026-03-14T12:00:01Z"
