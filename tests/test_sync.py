"""`make sync` against the emulator and a real PostgreSQL: the users table mirrors the API."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

from conftest import ROOT
from helpers import DATA_COLUMNS, USERS_COLUMNS, api_truth, assert_synced, users_table, wait_until


def ingested_at(project) -> dict[int, datetime]:
    return dict(project.query("select id, ingested_at from users"))


def processes_holding(pipe: str) -> list[str]:
    """The command lines of the other processes with `pipe` (`pipe:[inode]`) open."""
    holders = []
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if fd.parts[2] != str(os.getpid()) and os.readlink(fd) == pipe:
                holders.append(Path("/proc", fd.parts[2], "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return holders


def test_a_pipe_reading_the_sync_ends_when_the_sync_does(project):
    # cron, `make sync | tee`, a scheduler: they read the output to its end, which must come when
    # the sync exits, not when what it leaves behind (dbt writing its artifacts, multiprocessing's
    # resource tracker) does.
    sync = subprocess.Popen(["make", "-s", "sync"], cwd=ROOT, env=project.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    pipes = [os.readlink(f"/proc/{sync.pid}/fd/{fd}") for fd in (1, 2)]
    assert sync.wait(timeout=600) == 0
    assert [processes_holding(pipe) for pipe in pipes] == [[], []]
    sync.stdout.close()
    sync.stderr.close()


def test_sync_mirrors_every_column_of_every_student(project):
    # Empty text is a value, not a missing one: it must not come out as NULL.
    some_id = project.emulator.matching_users()[3]["id"]
    project.emulator.update_user(some_id, usual_first_name="", phone="", location="")
    result = project.sync()
    assert_synced(result)

    table, truth = users_table(project), api_truth(project)
    assert set(table) == set(truth)
    mismatches = [(uid, col) for uid in truth for col, got, want in zip(DATA_COLUMNS, table[uid], truth[uid])
                  if got != want or type(got) is not type(want)]
    assert mismatches == []
    # The synthetic data must exercise the hard cases, or the comparison above proves little.
    values = list(truth.values())
    assert any(row[DATA_COLUMNS.index("correction_point")] < 0 for row in values)
    assert any("'" in row[DATA_COLUMNS.index("last_name")] for row in values)
    assert any(row[DATA_COLUMNS.index("active_p")] for row in values)
    assert {row[DATA_COLUMNS.index("usual_first_name")] for row in values} >= {"", None}

    # dbt's record of the run, where dbt tooling looks for it (written just after the sync ends).
    wait_until(lambda: not project.dbt_process_running())
    run_results = json.loads((project.dbt_target / "run_results.json").read_text())
    statuses = {node["unique_id"]: node["status"] for node in run_results["results"]}
    assert statuses["model.ft42.users"] == "success" and statuses["snapshot.ft42.users_history"] == "success"
    assert "model.ft42.users" in json.loads((project.dbt_target / "manifest.json").read_text())["nodes"]

    log = project.log_text
    for line in ("Starting users update...", f"Staged {len(truth)} users", f"Users: total={len(truth)} "
                 f"inserted={len(truth)} updated=0 unchanged=0 removed=0", "Update complete"):
        assert line in log

    # The declared columns (the old table's), in order, with their types; the four indexes and the key.
    columns = project.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'public' and table_name = 'users' order by ordinal_position")
    assert columns == USERS_COLUMNS
    indexed = {row[0] for row in project.query(
        "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid "
        "and a.attnum = any(i.indkey) where i.indrelid = 'public.users'::regclass")}
    assert {"id", "login", "email", "kind", "updated_at"} <= indexed
    assert project.query(
        "select count(*) from pg_index where indrelid = 'public.users'::regclass and indisprimary") == [(1,)]


def test_second_sync_without_api_changes_writes_nothing(project):
    assert_synced(project.sync())
    before = project.query("select id, ingested_at, xmin::text from users order by id")

    result = project.sync()
    assert_synced(result)
    assert project.query("select id, ingested_at, xmin::text from users order by id") == before
    assert "inserted=0 updated=0 " in project.log_text.splitlines()[-2]


def test_changed_users_are_updated_and_only_they_move_ingested_at(project):
    emulator = project.emulator
    assert_synced(project.sync())
    before = ingested_at(project)

    changed = sorted(before)[::100]  # 1 %
    for n, user_id in enumerate(changed):
        emulator.update_user(user_id, location=f"c9r{n}s1", wallet=7000 + n, correction_point=-5 - n)

    assert_synced(project.sync())
    assert users_table(project) == api_truth(project)
    after = ingested_at(project)
    assert {uid for uid in after if after[uid] != before[uid]} == set(changed)
    assert f"inserted=0 updated={len(changed)} unchanged={len(before) - len(changed)} removed=0" \
        in project.log_text.splitlines()[-2]


def test_users_who_leave_the_listing_leave_the_table(project):
    emulator = project.emulator
    assert_synced(project.sync())
    ids = sorted(ingested_at(project))
    alumnized, deleted = ids[3], ids[-4]
    emulator.alumnize(alumnized)
    emulator.remove_user(deleted)
    (newcomer,) = emulator.add_students(1)

    assert_synced(project.sync(FULL="1"))  # a full listing: the only evidence of a deletion
    table = users_table(project)
    assert alumnized not in table and deleted not in table and newcomer in table
    assert table == api_truth(project)
    assert "inserted=1 updated=0 " in project.log_text and " removed=2" in project.log_text


def test_no_secret_reaches_output_or_logs(project):
    wrong_secret = "not-the-secret-0451"
    good = project.sync()
    bad = project.sync(CLIENT_SECRET=wrong_secret)
    assert_synced(good)
    assert bad.returncode != 0 and "401" in bad.stderr

    # Everything the runs wrote: output, the run log, dbt's logs and artifacts, dlt's working state.
    written = [good.stdout, good.stderr, bad.stdout, bad.stderr]
    for folder in (project.workdir, ROOT / "dbt_project" / "logs", ROOT / "dbt_project" / "target"):
        written += [path.read_bytes().decode("utf-8", "replace") for path in folder.rglob("*") if path.is_file()]
    for secret in filter(None, (project.env["CLIENT_SECRET"], wrong_secret, project.env["DB_PASSWORD"])):
        assert not [text for text in written if secret in text]
