"""Runs that die, fail half-way or hang: nothing wrong is ever published, nothing blocks the next
run, and each ends with one line. Every case runs against a real PostgreSQL and the emulator."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import uuid

import pytest
from conftest import CLIENT_ID, CLIENT_SECRET, ROOT, Project
from helpers import (
    api_truth,
    failure_line,
    kill_sync_while_it_writes,
    make_truth_move,
    synced,
    table_bytes,
    users_table,
    wait_until,
)

from scripts.ft42_emulator import Emulator


@pytest.fixture
def emulator(five_page_emulator):
    return five_page_emulator


def execute(project, sql: str) -> None:
    conn = project.server.connect(project.database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def ledger(project) -> list[tuple]:
    return project.query("select status, error, published_at is not null from sync_runs order by run_id")


def unfinished_packages(dlt_dir) -> list:
    return [p for folder in ("load/new", "load/normalized") for p in dlt_dir.rglob(f"{folder}/*")
            if "set-aside" not in p.parts]


@pytest.fixture
def second_project(pg_server, project, tmp_path):
    """Another database and another API, synced from the same checkout with the same dlt data dir."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    pg_server.admin(f'create database "{database}"')
    workdir = tmp_path / "second"
    workdir.mkdir()
    with Emulator(students=234, seed=99, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as emu:
        env = {**project.env, "DB_NAME": database, "API_ROOT": emu.url,
               "SYNC_LOG_FILE": str(workdir / "update_users.log"), "EXPORT_DIR": str(workdir / "exports")}
        yield Project(pg_server, database, emu, workdir, env)
    pg_server.admin(f'drop database "{database}" with (force)')
    shutil.rmtree(Project(pg_server, database, emu, workdir).dbt_target, ignore_errors=True)


def test_a_package_left_for_one_database_never_reaches_another(project, second_project):
    synced(project)
    make_truth_move(project)
    # Killed before its rows reach the database at all: the whole package stays behind.
    kill_sync_while_it_writes(project, "ft42_raw_staging.users")
    assert unfinished_packages(project.workdir / "dlt")

    synced(second_project)
    assert users_table(second_project) == api_truth(second_project)
    # Not even the raw table holds a user of the other database.
    raw = {row[0] for row in second_project.query("select id from ft42_raw.users")}
    assert raw == set(api_truth(second_project))
    assert "Set aside" not in second_project.log_text

    synced(project)
    assert users_table(project) == api_truth(project)
    assert "Set aside the unfinished load an interrupted or failed run left behind" in project.log_text


def test_a_package_both_normalised_and_new_does_not_block_later_runs(project):
    """A kill between normalise and load can leave one package in two places; dlt cannot load it."""
    synced(project)
    make_truth_move(project)
    kill_sync_while_it_writes(project, "ft42_raw.users")
    (package,) = unfinished_packages(project.workdir / "dlt")
    shutil.copytree(package, package.parent.parent / "new" / package.name, dirs_exist_ok=True)

    synced(project)
    synced(project)
    assert users_table(project) == api_truth(project)
    assert not unfinished_packages(project.workdir / "dlt")


def test_a_load_the_database_refused_is_set_aside_and_the_next_run_fetches_afresh(project):
    synced(project)
    some_id = project.emulator.matching_users()[7]["id"]
    execute(project, "alter table ft42_raw.users add constraint no_wallet_4242 check (wallet <> 4242)")
    project.emulator.update_user(some_id, wallet=4242)
    refused = project.sync(FULL="1")
    assert refused.returncode != 0
    assert "load failed" in failure_line(refused) and "no_wallet_4242" in failure_line(refused)

    project.emulator.update_user(some_id, wallet=7)  # the API is fixed; the refused package is not
    synced(project)
    assert users_table(project) == api_truth(project)
    assert list((project.workdir / "dlt").glob("pipelines/*/set-aside/*"))


def test_a_failing_history_step_names_no_student_and_the_next_run_catches_up(project):
    synced(project)
    victim = project.emulator.matching_users()[5]
    execute(project, "alter table users_history add constraint history_guard check (wallet <> 4242)")
    project.emulator.update_user(victim["id"], wallet=4242)

    failed = project.sync()
    assert failed.returncode != 0
    line = failure_line(failed)
    assert "users_history" in line
    (status, error, published), = ledger(project)[-1:]
    assert status == "failed" and published
    for text in (line, error, project.log_text):
        assert victim["email"] not in text and victim["login"] not in text and "4242" not in text

    execute(project, "alter table users_history drop constraint history_guard")
    synced(project)
    assert project.query(
        "select count(*) from users u left join users_history h on h.id = u.id and h.dbt_valid_to is null "
        "and h.ingested_at = u.ingested_at where h.id is null") == [(0,)]
    assert project.query("select wallet from users_history where id = %s and dbt_valid_to is null",
                         (victim["id"],)) == [(4242,)]


def test_users_removed_by_a_run_killed_in_its_snapshot_stay_removed(project):
    synced(project)
    ids = sorted(u["id"] for u in project.emulator.matching_users())
    for user_id in ids[10:25]:
        project.emulator.remove_user(user_id)
    project.env["FULL"] = "1"
    kill_sync_while_it_writes(project, "public.users_history")  # users is committed, history is not
    del project.env["FULL"]
    assert ledger(project)[-1][2]  # the killed run's listing reached users

    synced(project)  # incremental
    assert users_table(project) == api_truth(project)
    assert not set(ids[10:25]) & set(users_table(project))


def test_a_run_past_its_deadline_ends_with_one_line_and_frees_the_database(project):
    synced(project)
    before = table_bytes(project)
    make_truth_move(project)
    project.emulator.slow_ms = 3000
    started = time.monotonic()
    result = project.sync(FULL="1", RUN_DEADLINE_MINUTES="0.1")
    assert time.monotonic() - started < 30
    assert result.returncode != 0
    line = failure_line(result)
    # Planning (the size requests) or the fetch: both are requests the slow API holds up.
    assert "RUN_DEADLINE_MINUTES=0.1" in line and ("during planning" in line or "during the fetch and load" in line)
    assert "Traceback" not in result.stderr
    assert table_bytes(project) == before
    assert ledger(project)[-1][:2] == ("failed", line.split("Update failed: ", 1)[1])

    project.emulator.slow_ms = 0
    synced(project)
    assert users_table(project) == api_truth(project)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_run_says_so_in_one_line(project, signum):
    synced(project)
    before = table_bytes(project)
    make_truth_move(project)
    project.emulator.slow_ms = 500
    project.emulator.reset_log()
    sync = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "pipelines.ft42_pipeline"], cwd=ROOT,
                            env=project.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # A page of the listing, not the size request that plans it.
    wait_until(lambda: any("/users" in path and "page%5Bsize%5D=1" not in path and "page[size]=1" not in path
                           for _, path, _ in project.emulator.request_log))
    sync.send_signal(signum)
    stdout, stderr = sync.communicate(timeout=60)
    assert sync.returncode == 128 + signum
    result = subprocess.CompletedProcess(sync.args, sync.returncode, stdout, stderr)
    assert f"stopped by {signal.Signals(signum).name} during the fetch and load" in failure_line(result)
    assert "Traceback" not in stderr
    assert ledger(project)[-1][0] == "failed"
    assert table_bytes(project) == before


def test_a_database_that_drops_the_sync_mid_load_ends_with_one_line(project):
    synced(project)
    before = table_bytes(project)
    make_truth_move(project)
    blocker = project.server.connect(project.database)
    with blocker.cursor() as cur:
        cur.execute("lock table ft42_raw.users in exclusive mode")
    sync = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "pipelines.ft42_pipeline"], cwd=ROOT,
                            env={**project.env, "RUNTIME__REQUEST_MAX_ATTEMPTS": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: project.query(
            "select count(*) from pg_stat_activity where datname = current_database() "
            "and wait_event_type = 'Lock'")[0][0] > 0)
        # What the sync sees when its server stops: every connection it has is closed.
        project.query("select count(pg_terminate_backend(pid)) from pg_stat_activity "
                      "where datname = current_database() and pid <> pg_backend_pid() and pid <> %s",
                      (blocker.get_backend_pid(),))
    finally:
        blocker.rollback()
        blocker.close()
    stdout, stderr = sync.communicate(timeout=120)
    result = subprocess.CompletedProcess(sync.args, sync.returncode, stdout, stderr)
    assert result.returncode == 1
    assert f"PostgreSQL at {project.server.host}:{project.server.port}" in failure_line(result)
    assert "Traceback" not in stderr
    assert table_bytes(project) == before


def test_a_login_without_create_rights_or_a_read_only_database_ends_with_one_line(project):
    role = f"r_{uuid.uuid4().hex[:8]}"
    project.server.admin(f"create role {role} login password 'pw-{role}'")
    try:
        refused = project.sync(DB_USER=role, DB_PASSWORD=f"pw-{role}")
        assert f"DB_USER '{role}' needs CREATE on database" in failure_line(refused)
        assert "Traceback" not in refused.stderr
    finally:
        project.server.admin(f"drop owned by {role}; drop role {role}")

    project.server.admin(f'alter database "{project.database}" set default_transaction_read_only = on')
    read_only = project.sync()
    assert "the database is read-only" in failure_line(read_only)
    assert "Traceback" not in read_only.stderr
