"""The fault matrix: every fault the emulator can inject, against a real PostgreSQL.

Each case ends one of two ways, and only these: `users` equals the API's truth, or `users` is
byte-for-byte what it was before, the exit is non-zero and the message says what failed.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from urllib.parse import unquote

import pytest
from helpers import (
    FAST_RETRIES,
    after_nth_list_request,
    api_truth,
    failure_line,
    kill_sync_while_it_writes,
    make_truth_move,
    synced,
    table_bytes,
    users_table,
)

from pipelines.warehouse import SYNC_LOCK_KEY


@pytest.fixture
def emulator(five_page_emulator):
    return five_page_emulator


COMPLETING_FAULTS = {
    "429 storm without Retry-After": lambda emu: emu.storm_429(4),
    "429 storm with Retry-After": lambda emu: emu.storm_429(3, retry_after=1),
    "5 % of requests answer 5xx": lambda emu: setattr(emu, "error_rate_5xx", 0.05),
    "a truncated JSON page": lambda emu: setattr(emu, "on_list_request", after_nth_list_request(
        4, lambda e: setattr(e, "truncate_page_once_at", 1))),
    "token expires every 3 requests": lambda emu: setattr(emu, "expire_token_every", 3),
    "slow responses": lambda emu: setattr(emu, "slow_ms", 400),
}


@pytest.mark.parametrize("inject", COMPLETING_FAULTS.values(), ids=COMPLETING_FAULTS.keys())
def test_recoverable_faults_end_with_the_exact_data(project, inject):
    inject(project.emulator)
    synced(project, FULL="1")  # a full listing: the longest read, where faults bite hardest
    assert users_table(project) == api_truth(project)


def test_a_user_leaving_the_set_mid_fetch_does_not_hide_another(project):
    emulator = project.emulator
    ids = sorted(u["id"] for u in emulator.matching_users())
    # After four pages are read, a user on page one leaves the set. Offset paging would now skip
    # the first user of page five, who was in the set for the whole run.
    emulator.on_list_request = after_nth_list_request(5, lambda emu: emu.alumnize(ids[10]))

    synced(project)
    table = users_table(project)
    stayed = set(ids) - {ids[10]}
    assert stayed <= set(table)
    assert set(table) <= set(ids)
    assert ids[400] in table


def test_stays_under_the_rate_limit_and_gets_no_429(project):
    emulator = project.emulator
    emulator.rate_per_second, emulator.rate_per_hour = 2, 1200
    synced(project)
    assert emulator.count_429 == 0
    assert users_table(project) == api_truth(project)


def test_the_token_request_does_not_hold_back_the_first_pages(project):
    emulator = project.emulator
    emulator.rate_per_second = 2  # the emulator does not count token requests against it
    arrivals = []
    answer_page = emulator.page

    def timed_page(*args):  # every users request: the size request, then the pages
        arrivals.append(time.monotonic())
        return answer_page(*args)
    emulator.page = timed_page
    synced(project)
    assert arrivals[1] - arrivals[0] < 0.5  # both of the first second's slots: the size request, a page
    assert arrivals[2] - arrivals[0] > 1.0 and emulator.count_429 == 0


def test_a_listing_of_whole_pages_ends_on_an_empty_page(project):
    # X-Total can be wrong: only a page short of users proves the keyset has reached the end.
    emulator = project.emulator
    students = sorted(u["id"] for u in emulator.matching_users())
    for user_id in students[:len(students) % 100]:
        emulator.remove_user(user_id)
    emulator.reset_log()
    synced(project)
    listed = [unquote(path) for _, path, _ in emulator.request_log if "/users" in path]
    pages = [path for path in listed if "page[size]=1" not in path]  # not the size request
    assert len(pages) == len(students) // 100 + 1 >= 3
    assert f"range[id]={students[-1] + 1}," in pages[-1]
    assert users_table(project) == api_truth(project)


def test_a_rotated_secret_falls_back_to_the_next_one_and_warns(project):
    emulator = project.emulator
    emulator.client_secret_next = "the-next-secret-7"
    emulator.secret_rejected = True
    result = synced(project, CLIENT_SECRET_NEXT="the-next-secret-7")
    assert users_table(project) == api_truth(project)
    assert "CLIENT_SECRET was rejected and CLIENT_SECRET_NEXT worked" in result.stdout + project.log_text


def test_a_coercible_value_of_the_wrong_type_is_coerced(project):
    some_id = project.emulator.matching_users()[5]["id"]
    # A timestamp with a space and no zone is still ISO 8601 (read as UTC), just not the API's usual form.
    project.emulator.update_user(some_id, wallet="12", correction_point="-3", alumnized_at="2024-01-02 03:04:05")
    synced(project)
    wallet, points, alumnized = project.query(
        "select wallet, correction_point, alumnized_at from users where id = %s", (some_id,))[0]
    assert (wallet, points) == (12, -3)
    assert alumnized == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert [c for (c,) in project.query(
        "select column_name from information_schema.columns where table_schema = 'ft42_raw' "
        "and position('__v_' in column_name) > 0")] == []


def _down_after_three(emu):
    emu.reset_log()
    emu.down_after = 3


def _bad_wallet(emu):
    emu.update_user(emu.matching_users()[7]["id"], wallet="abc")


def _created_after_updated(emu):
    emu.update_user(emu.matching_users()[9]["id"], created_at="2099-01-01T00:00:00.000Z")


FAILING_FAULTS = {
    "API down after 3 requests": (_down_after_three, {}, "GET /v2/cursus/21/users?"),
    "API answers 503 to everything": (lambda emu: setattr(emu, "error_rate_5xx", 1.0), {}, "answered 50"),
    "hourly budget spent": (lambda emu: setattr(emu, "rate_per_hour", 5), {}, "hourly request budget is spent"),
    "a value that cannot be coerced": (_bad_wallet, {}, "has wallet='abc', expected a whole number"),
    "a listing that fails a data test": (_created_after_updated, {},
                                         "dbt build failed: expression_is_true_int_ft42__current_students_updated_at"),
    "wrong client secret": (lambda emu: None, {"CLIENT_SECRET": "nope"}, "POST /oauth/token answered 401"),
    "unreachable API": (lambda emu: None, {"API_ROOT": "http://127.0.0.1:9"}, "got no answer from http://127.0.0.1:9"),
    "unreachable database": (lambda emu: None, {"DB_PORT": "9"}, "cannot connect to PostgreSQL at"),
    "missing credentials": (lambda emu: None, {"CLIENT_ID": ""}, "CLIENT_ID not set"),
}


@pytest.mark.parametrize("inject, env, reason", FAILING_FAULTS.values(), ids=FAILING_FAULTS.keys())
def test_unrecoverable_faults_change_nothing_and_say_why(project, inject, env, reason):
    synced(project)
    before = table_bytes(project)
    make_truth_move(project)
    inject(project.emulator)

    result = project.sync(**FAST_RETRIES, FULL="1", **env)
    assert result.returncode != 0
    assert reason in failure_line(result)
    assert "Traceback" not in result.stderr
    assert table_bytes(project) == before


def test_a_listing_the_hourly_budget_cannot_finish_waits_for_a_later_run(project):
    synced(project)
    before = table_bytes(project)
    make_truth_move(project)
    emu = project.emulator
    used = sum(1 for _, path, status in emu.request_log if path.startswith("/v2/") and status == 200)
    emu.rate_per_hour = used + 4  # the size request, then three more: not the whole listing

    result = synced(project, FULL="1")
    assert "Plan users: waits for a later run: needs " in result.stdout
    assert table_bytes(project) == before
    assert project.query("select status from sync_tables order by run_id desc limit 1") == [("deferred",)]
    emu.next_hour()
    synced(project, FULL="1")
    assert users_table(project) == api_truth(project)


def test_a_second_sync_while_one_runs_exits_at_once_with_its_own_code(project):
    synced(project)
    before = table_bytes(project)
    make_truth_move(project)
    holder = project.server.connect(project.database)
    holder.autocommit = True
    with holder.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", (SYNC_LOCK_KEY,))
    try:
        started = time.monotonic()
        result = project.sync()
        assert time.monotonic() - started < 30
    finally:
        holder.close()
    assert "another sync is already writing" in failure_line(result)
    assert "Error 75" in result.stderr
    assert table_bytes(project) == before


@pytest.mark.parametrize("blocked_table", ["ft42_raw.users", "public.users"], ids=["mid-load", "mid-dbt"])
def test_a_sync_killed_midway_leaves_users_intact_and_the_next_one_completes(project, blocked_table):
    synced(project)
    before = table_bytes(project)
    make_truth_move(project)

    kill_sync_while_it_writes(project, blocked_table)
    assert table_bytes(project) == before
    synced(project, FULL="1")
    assert users_table(project) == api_truth(project)
