"""Issue 12: every declared table mirrors its API listing, all columns, through changes of every
kind; each table is published or kept on its own; TABLES and `ft42 plan` touch what they say.

The truth is the emulator's (helpers.truth_rows), compared column by column with what PostgreSQL
returns for every declared data column (helpers.assert_mirrors)."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest
from conftest import ROOT
from helpers import (
    FAST_RETRIES,
    SMALL_LISTINGS,
    SMALL_MARTS,
    age_last_listings,
    assert_mirrors,
    differences,
    fail_listing,
    failure_line,
    kill_sync_while_it_writes,
    plan_lines,
    sync_tables,
    synced,
    table_rows,
    table_state,
    truth_rows,
)

# Issue 12's tables: the big ones, backfilled across runs, have their own tests (test_backfill.py).
LISTED, MARTS = SMALL_LISTINGS, SMALL_MARTS
pytestmark = pytest.mark.usefixtures("small_tables")
CURSUS_USERS_AND_USERS = {"users", "cursus_users", "cursus_user_skills"}  # what TABLES=users,cursus_users builds
NEW_SKILLS = [{"id": 4, "name": "Unix", "level": 7.45}, {"id": 17, "name": "Object-oriented programming",
                                                          "level": 12.3}]


@pytest.fixture
def emulator(five_page_emulator):
    return five_page_emulator


def change_everything(emu) -> dict:
    """Changes of every kind the issue names; returns what changed, by kind."""
    students = [user["id"] for user in emu.matching_users()]
    enrolments = {enrolment["user"]["id"]: enrolment for enrolment in emu.listing("cursus_users")}
    memberships = list(emu.listing("coalitions_users"))
    coalitions = [coalition["id"] for coalition in emu.listing("coalitions")]
    memberships_of: dict[int, list[int]] = {}
    for membership in memberships:
        memberships_of.setdefault(membership["user_id"], []).append(membership["id"])
    # Students with memberships, so that leaving shows in coalitions_users too.
    unenrolled, removed, quitter = [user_id for user_id in students if user_id in memberships_of][10:40:10]
    # Level, skills and blackhole are computed server-side: the enrolment's updated_at stays.
    levelled = [enrolments[user_id]["id"] for user_id in students[3::60]]
    for n, enrolment_id in enumerate(levelled):
        emu.set_level(enrolment_id, 10.5 + n / 100, skills=NEW_SKILLS, blackholed_at="2027-03-01T00:00:00.000Z")
    emu.unenrol(enrolments[unenrolled]["id"])  # leaves cursus_users, users and coalitions_users
    emu.remove_user(removed)  # gone from every listing
    added = emu.add_students(2)  # new students, with new enrolments
    gone_membership = memberships_of[quitter][0]
    emu.remove_coalitions_user(gone_membership)
    joined = emu.add_coalitions_user(students[5], coalitions[3])["id"]
    staying = [m["id"] for m in memberships if m["user_id"] not in (unenrolled, removed, quitter)]
    rescored = staying[::90]
    for membership_id in rescored:
        emu.set_coalitions_user_score(membership_id, 4242)  # moves its updated_at
    for coalition_id in coalitions[::50]:
        emu.set_coalition_score(coalition_id, 123456)
    return {"levelled": levelled, "unenrolled": unenrolled, "removed": removed, "added": added,
            "gone_membership": gone_membership, "joined": joined, "rescored": rescored,
            "unenrolled_memberships": memberships_of[unenrolled]}


def move_what_an_ordinary_run_sees(emu) -> None:
    """Changes that need no full listing once a table is due: scores, levels, new students."""
    for enrolment in list(emu.listing("cursus_users"))[::70]:
        emu.set_level(enrolment["id"], 3.21, skills=NEW_SKILLS)
    for membership in list(emu.listing("coalitions_users"))[::80]:
        emu.set_coalitions_user_score(membership["id"], 555)
    for coalition in list(emu.listing("coalitions"))[::60]:
        emu.set_coalition_score(coalition["id"], 654321)
    emu.add_students(1)


def column(project, table: str, name: str, where: str, ids) -> dict:
    return dict(project.query(f"select {where}, {name} from {table} where {where} = any(%s)", (list(ids),)))


def make(project, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", *args], cwd=ROOT, env={**project.env, **env}, capture_output=True,
                          text=True, timeout=300)


def all_state(project) -> dict[str, list]:
    return {table: table_state(project, table) for table in [*MARTS, "sync_runs", "sync_tables"]}


def test_every_table_mirrors_the_api_through_changes_of_every_kind(project):
    emu = project.emulator
    synced(project)
    assert_mirrors(project, MARTS)
    assert all(table_rows(project, table) for table in MARTS), "a table the truth fills is empty"
    levels_before = dict(project.query("select id, level from cursus_users"))
    changed = change_everything(emu)

    # `ft42 plan`: one line per listed table, and nothing written.
    before = all_state(project)
    plan = make(project, "plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    table_lines = [line for line in plan.stdout.splitlines() if line.split(":")[0] in LISTED]
    assert sorted(line.split(":")[0] for line in table_lines) == sorted(LISTED), plan.stdout
    assert all_state(project) == before

    # An ordinary run: incremental tables catch what moves updated_at, coalitions are listed every
    # run; full tables not yet due keep what they had.
    result = synced(project)
    plans = plan_lines(result.stdout)
    assert plans["cursus_users"].startswith("not due") and plans["projects"].startswith("not due"), plans
    assert plans["coalitions"].startswith("full") and plans["coalitions_users"].startswith("incremental"), plans
    assert_mirrors(project, ["coalitions", "projects", "achievements"])
    truth = {row[0]: row for row in truth_rows(emu, "coalitions_users")}
    held = {row[0]: row for row in table_rows(project, "coalitions_users")}
    assert {held[i] for i in [*changed["rescored"], changed["joined"]]} == \
           {truth[i] for i in [*changed["rescored"], changed["joined"]]}
    assert changed["gone_membership"] in held  # a deletion shows only in a full listing
    users = {row[0] for row in table_rows(project, "users")}
    assert set(changed["added"]) <= users and changed["removed"] in users
    assert column(project, "cursus_users", "level", "id", changed["levelled"]) == \
           {i: levels_before[i] for i in changed["levelled"]}  # its updated_at did not move

    # cursus_users' last listing is older than its max_age_hours: the next run lists it in full.
    age_last_listings(project, "cursus_users", 6)
    untouched = {table: table_state(project, table) for table in MARTS if table not in CURSUS_USERS_AND_USERS}
    emu.reset_log()
    result = synced(project, TABLES="users,cursus_users")
    assert plan_lines(result.stdout).keys() == {"users", "cursus_users"}
    assert plan_lines(result.stdout)["cursus_users"].startswith("full"), result.stdout
    assert_mirrors(project, ["cursus_users", "cursus_user_skills"])
    assert {table: table_state(project, table) for table in untouched} == untouched
    asked = {path.split("?")[0] for _, path, _ in emu.request_log if path.startswith("/v2/")}
    assert asked == {"/v2/cursus/21/users", "/v2/cursus/21/cursus_users"}
    assert set(sync_tables(project)) == {"users", "cursus_users"}

    # FULL=1: every listing in full, and every change is caught, deletions included.
    synced(project, FULL="1")
    assert_mirrors(project, MARTS)
    held = {row[0] for row in table_rows(project, "coalitions_users")}
    assert not {changed["gone_membership"], *changed["unenrolled_memberships"]} & held
    assert not {changed["removed"], changed["unenrolled"]} & {row[0] for row in table_rows(project, "users")}


def test_a_table_whose_listing_fails_is_kept_as_it_was_and_the_others_are_published(project):
    emu = project.emulator
    synced(project)
    move_what_an_ordinary_run_sees(emu)
    # coalitions: the API answers 500 to each of its pages, whatever the retries; coalitions_users:
    # one record the sync cannot store (a score that is no number; its updated_at moves).
    fail_listing(emu, "coalitions")
    bad_membership = next(emu.listing("coalitions_users"))["id"]
    emu.set_coalitions_user_score(bad_membership, "lots")
    failing = ["coalitions", "coalitions_users"]
    before = {table: table_state(project, table) for table in failing}

    result = project.sync(FULL="1", **FAST_RETRIES)
    assert result.returncode != 0
    line = failure_line(result)
    assert "coalitions: " in line and "500" in line, line
    assert f"coalitions_user {bad_membership} has score='lots', expected a whole number" in line, line
    assert [log_line for log_line in project.log_text.splitlines() if "Update failed" in log_line] == [line]
    assert {table: table_state(project, table) for table in failing} == before
    assert_mirrors(project, [table for table in MARTS if table not in failing])
    statuses = {table: row["status"] for table, row in sync_tables(project).items()}
    assert statuses == {table: "failed" if table in failing else "succeeded" for table in LISTED}

    # The API mends: an ordinary run lists coalitions (every run) and coalitions_users' window
    # since its last success, and completes both.
    del emu.resource_page  # the emulator's own again
    emu.set_coalitions_user_score(bad_membership, 77)
    result = synced(project)
    assert {table: row["status"] for table, row in sync_tables(project).items() if table in failing} == \
           {table: "succeeded" for table in failing}
    assert_mirrors(project, MARTS)


def test_a_run_killed_in_its_dbt_build_leaves_each_table_whole_and_the_next_run_completes_them(project):
    emu = project.emulator
    synced(project)
    change_everything(emu)
    before = {table: table_state(project, table) for table in MARTS}
    # A run that lists every table, killed (SIGKILL) while dbt waits to write cursus_users.
    kill_sync_while_it_writes(replace(project, env={**project.env, "FULL": "1"}), "public.cursus_users")
    assert table_state(project, "cursus_users") == before["cursus_users"]
    assert table_state(project, "cursus_user_skills") == before["cursus_user_skills"]
    for table in MARTS:  # each table is its last run's, or the killed run's, whole
        assert table_state(project, table) == before[table] or not differences(project, table), table

    synced(project, FULL="1")  # the command again
    assert_mirrors(project, MARTS)
    killed_run = project.query("select min(run_id) + 1 from sync_tables")[0][0]
    assert {row["status"] for row in sync_tables(project, killed_run).values()} == {"interrupted"}


def test_a_table_whose_size_request_fails_fails_alone(project):
    synced(project)
    project.emulator.set_coalition_score(next(project.emulator.listing("coalitions"))["id"], 777)
    fail_listing(project.emulator, "coalitions", pages_only=False)  # its one-record size request too
    before = table_state(project, "coalitions")
    result = project.sync(**FAST_RETRIES)
    assert result.returncode != 0
    assert failure_line(result).split("Update failed: ", 1)[1].startswith("coalitions: "), result.stderr
    statuses = {table: row["status"] for table, row in sync_tables(project).items()}
    assert statuses["coalitions"] == "failed" and "succeeded" in statuses.values()
    assert set(statuses.values()) == {"failed", "succeeded"}
    assert table_state(project, "coalitions") == before
    assert_mirrors(project, [table for table in MARTS if table != "coalitions"])


def test_skills_the_models_cannot_read_fail_the_run_in_one_line(project):
    emu = project.emulator
    enrolment = next(emu.listing("cursus_users"))["id"]
    emu.set_level(enrolment, 5.5, skills={"id": 1, "name": "Unix", "level": 2})  # an object, not an array
    result = project.sync()
    assert result.returncode != 0 and "Update complete" not in result.stdout, result.stdout
    assert "cursus_user" in failure_line(result)
    assert_mirrors(project, ["users", "achievements", "coalitions", "coalitions_users", "projects"])


def test_coalitions_users_alone_on_a_new_database_waits_for_cursus_users_and_says_so(project):
    result = synced(project, TABLES="coalitions_users")
    assert plan_lines(result.stdout)["coalitions_users"].startswith(
        "waits for a later run: its models need cursus_users, coalitions, never listed here"), result.stdout
    synced(project, TABLES="coalitions_users,cursus_users,coalitions")
    assert_mirrors(project, ["coalitions_users", "cursus_users", "coalitions"])
