"""The big tables (projects_users, achievements_users) on the emulator and a real PostgreSQL:
a backfill spread over runs by a small hourly budget, kills at any moment of it, then changes,
additions and deletions once it is complete."""

from __future__ import annotations

import random
import re
import subprocess

import pytest
from big_tables import (
    BIG_TABLES,
    BIG_TABLES_ENV,
    assert_big_table_is_truth,
    big_table_rows,
    big_table_truth,
    ids_behind_position_missing_from_raw,
    kill_sync_at_list_request,
    kill_sync_blocked_on,
    passes,
    raw_duplicate_ids,
)
from conftest import CLIENT_ID, CLIENT_SECRET, ROOT
from helpers import FAST_RETRIES

from scripts.ft42_emulator import Emulator

# About 5,200 projects_users and 2,100 achievements_users: 53 and 22 list requests a pass.
STUDENTS = 100


@pytest.fixture
def emulator(request):
    # 60 requests an hour: each pass needs two or three runs.
    with Emulator(students=getattr(request, "param", STUDENTS), seed=7, client_id=CLIENT_ID,
                  client_secret=CLIENT_SECRET, rate_per_hour=60) as emu:
        yield emu


def synced(project, **env):
    result = project.sync(**{**BIG_TABLES_ENV, **env})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def next_hour_sync(project, **env):
    project.emulator.next_hour()
    return synced(project, **env)


def status(project) -> str:
    result = subprocess.run(["make", "-s", "status"], cwd=ROOT, env=project.env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def predicted_runs(run_output: str, table: str) -> int:
    """The first run's plan: `Plan <table>: backfill (...); backfill pass starts (0.0 %), N requests to its
    end; M requests this run (about K runs at this pace)`."""
    match = re.search(rf"Plan {table}: backfill .*\(about (\d+) runs at this pace\)", run_output)
    assert match, run_output
    return int(match.group(1))


def backfill_complete(project, table: str) -> bool:
    return any(p["kind"] == "backfill" and p["completed_at"] for p in passes(project, table))


def test_backfill_completes_in_the_predicted_runs_within_the_budget_and_mirrors_every_column(project):
    emulator = project.emulator
    # A user who leaves the cursus keeps their achievements in the API's (network-wide) listing,
    # not in the table.
    leaver = next(emulator.listing("cursus_users"))
    emulator.unenrol(leaver["id"])
    assert any(item["user_id"] == leaver["user"]["id"] for item in emulator.listing("achievements_users"))

    first = synced(project)
    predicted = {table: predicted_runs(first.stdout + first.stderr, table) for table in BIG_TABLES}
    assert predicted["projects_users"] >= 2  # a backfill spread over runs, or this proves nothing

    # Rows backfilled so far are queryable as soon as they land, and only those.
    landed = big_table_rows(project, "projects_users")
    assert len(landed) == passes(project, "projects_users")[-1]["rows_seen"] > 0
    shown = status(project)
    assert re.search(r"projects_users: backfilling; backfill pass since [\d-]+ [\d:]+ UTC: "
                     rf"{len(landed)} of \d+ rows \([\d.]+ %\), \d+ requests left, about \d+ more runs", shown), shown

    runs_taken = {table: 1 for table in BIG_TABLES if backfill_complete(project, table)}
    for run in range(2, max(predicted.values()) + 2):
        next_hour_sync(project)
        for table in BIG_TABLES:
            if table not in runs_taken and backfill_complete(project, table):
                runs_taken[table] = run
        if len(runs_taken) == len(BIG_TABLES):
            break
    for table in BIG_TABLES:
        assert table in runs_taken and runs_taken[table] <= predicted[table], (runs_taken, predicted)
    assert emulator.count_429 == 0

    for table in BIG_TABLES:
        assert_big_table_is_truth(project, table)
        assert raw_duplicate_ids(project, table) == []
    # The data exercises what the comparison must get right: arrays, nulls, both booleans.
    rows = list(big_table_rows(project, "projects_users").values())
    assert {9, 21} <= {cursus_id for row in rows for cursus_id in row[5]}
    assert {True, False} <= {row[8] for row in rows}
    assert any(row[7] is None for row in rows) and any(row[11] is None for row in rows)
    assert leaver["user"]["id"] not in {row[2] for row in big_table_rows(project, "achievements_users").values()}

    shown = status(project)
    for table in BIG_TABLES:
        assert re.search(rf"{table}: current \(last complete pass [\d-]+ [\d:]+ UTC\)", shown), shown


# 250 students: 131 requests a pass, three chunks.
@pytest.mark.slow
@pytest.mark.parametrize("emulator", [140], indirect=True)  # ~7,300 projects_users: two chunks and a half
def test_kills_at_any_moment_of_a_backfill_lose_no_chunk_and_the_table_converges(project):
    """Three runs killed (during a chunk's fetch, during its load, right after its load committed),
    then one that finishes: the ledger never counts a chunk the raw table lacks."""
    project.emulator.rate_per_hour = 0  # the whole pass fits a run: only the kills stop it
    env = {**FAST_RETRIES, "TABLES": "projects_users"}
    table = "projects_users"

    def assert_no_chunk_lost():
        assert ids_behind_position_missing_from_raw(project, table) == []
        assert raw_duplicate_ids(project, table) == []

    # List request 1 sizes the listing, 2-51 are the first chunk (50 pages): kill during the second.
    kill_sync_at_list_request(project, 51 + random.Random(13).randint(5, 15), **env)
    assert_no_chunk_lost()
    after_first_chunk = passes(project, table)[-1]["position"]
    assert after_first_chunk > 0

    kill_sync_blocked_on(project, f"ft42_raw.{table}", **env)  # the second chunk fetched, its load waits
    assert_no_chunk_lost()
    assert passes(project, table)[-1]["position"] == after_first_chunk

    kill_sync_blocked_on(project, "sync_passes", **env)  # its load committed, the ledger not yet moved
    assert_no_chunk_lost()
    assert passes(project, table)[-1]["position"] == after_first_chunk
    assert project.query(f"select count(*) from ft42_raw.{table} where id > %s", (after_first_chunk,))[0][0] > 0

    synced(project, **env)
    assert_big_table_is_truth(project, table)
    assert raw_duplicate_ids(project, table) == []
    (backfill,) = passes(project, table)
    assert backfill["completed_at"] is not None
    assert backfill["rows_seen"] == len(big_table_rows(project, table))


@pytest.mark.slow
def test_changes_arrive_in_the_next_run_deletions_within_one_reconcile_pass_and_the_breaker_guards(project):
    emulator = project.emulator
    emulator.rate_per_hour = 0
    synced(project)
    assert all(backfill_complete(project, table) for table in BIG_TABLES)

    projects_users = sorted(item["id"] for item in emulator.listing("projects_users"))
    changed = projects_users[10:13]
    for mark, item_id in enumerate(changed):
        emulator.update_projects_user(item_id, status="finished", final_mark=90 + mark, **{"validated?": True})
    some = emulator.resource_item("projects_users", projects_users[20])
    added = [emulator.add_projects_user(some["user"]["id"], some["project"]["id"])["id"]]
    replaced = projects_users[30:32]
    added += [emulator.replace_projects_user(item_id)["id"] for item_id in replaced]
    deleted = [projects_users[40], *replaced]
    emulator.delete_projects_user(projects_users[40])
    achievements_users = sorted(item["id"] for item in emulator.listing("achievements_users"))
    holder = emulator.resource_item("achievements_users", achievements_users[0])
    added_achievements = [emulator.add_achievements_user(holder["user_id"], holder["achievement_id"])["id"]]
    emulator.remove_achievements_user(achievements_users[5])
    mutated_at = project.query("select now()")[0][0]

    emulator.rate_per_hour = 90  # a reconcile pass of projects_users takes two runs
    next_hour_sync(project)
    got = big_table_rows(project, "projects_users")
    truth = big_table_truth(emulator, "projects_users")
    assert {item_id: got.get(item_id) for item_id in [*changed, *added]} == \
        {item_id: truth[item_id] for item_id in [*changed, *added]}
    assert set(added_achievements) <= set(big_table_rows(project, "achievements_users"))

    removed_in_run = {}
    for run in range(2, 8):
        for table in BIG_TABLES:
            if table not in removed_in_run and any(
                    p["completed_at"] and p["started_at"] >= mutated_at for p in passes(project, table)):
                assert_big_table_is_truth(project, table)  # as soon as a pass begun after them completes
                removed_in_run[table] = run
        if len(removed_in_run) == len(BIG_TABLES):
            break
        next_hour_sync(project)
    assert set(removed_in_run) == set(BIG_TABLES), passes(project, "projects_users")
    assert not set(deleted) & set(big_table_rows(project, "projects_users"))

    # A pass that would remove more than MAX_REMOVED_SHARE (5 %) of a table removes nothing.
    emulator.rate_per_hour = 0
    before = big_table_rows(project, "achievements_users")
    for item_id in sorted(before)[::10]:
        emulator.remove_achievements_user(item_id)
    emulator.next_hour()
    refused = project.sync(**BIG_TABLES_ENV)
    assert refused.returncode != 0
    assert re.search(r"Update failed: .*achievements_users.*circuit breaker", refused.stderr), refused.stderr
    assert big_table_rows(project, "achievements_users") == before
    synced(project, MAX_REMOVED_SHARE="1")
    assert_big_table_is_truth(project, "achievements_users")
