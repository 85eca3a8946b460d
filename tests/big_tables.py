"""What the tests of the big tables (projects_users, achievements_users) check a sync with: the
API's truth column by column, the marts, the raw tables, the ledger of passes, and a sync killed
at a chosen moment. Plain functions; fixtures live in conftest.py."""

from __future__ import annotations

import os
import signal
import subprocess

from conftest import ROOT
from helpers import FAST_RETRIES, instant, wait_until

from pipelines.ft42.declaration import fetched_columns

BIG_TABLES = ("projects_users", "achievements_users")
# The big tables and what achievements_users is read against (cursus_users: who is enrolled;
# achievements: what its relationships test checks), the rest of the cursus left out to keep runs short.
# cursus_users: achievements_users keeps the achievements of enrolled users only.
BIG_TABLES_ENV = {**FAST_RETRIES, "TABLES": "projects_users,achievements_users,cursus_users"}


def big_table_expected_row(table: str, item: dict) -> tuple:
    """What `table` must hold for one API item, in its declared order (made-by-dbt columns left out)."""
    values = []
    for column in fetched_columns(table):
        value = item
        for key in column.api_path:
            value = value[key]
        values.append(instant(value) if column.data_type == "timestamp with time zone" else value)
    return tuple(values)


def enrolled_user_ids(emulator) -> set[int]:
    return {cursus_user["user"]["id"] for cursus_user in emulator.listing("cursus_users")}


def big_table_truth(emulator, table: str) -> dict[int, tuple]:
    """What the mart must hold: projects_users as listed; achievements_users of enrolled users only."""
    items = emulator.listing(table)
    if table == "achievements_users":
        enrolled = enrolled_user_ids(emulator)
        items = (item for item in items if item["user_id"] in enrolled)
    return {item["id"]: big_table_expected_row(table, item) for item in items}


def big_table_rows(project, table: str) -> dict[int, tuple]:
    names = ", ".join(column.name for column in fetched_columns(table))
    return {row[0]: row for row in project.query(f"select {names} from {table}")}


def big_table_mismatches(project, table: str) -> dict[str, list]:
    """Ids missing from, extra in, or different in the mart (a value or its Python type), vs the API."""
    got, want = big_table_rows(project, table), big_table_truth(project.emulator, table)
    names = [column.name for column in fetched_columns(table)]
    differing = sorted((item_id, name) for item_id in set(got) & set(want)
                       for name, a, b in zip(names, got[item_id], want[item_id])
                       if a != b or type(a) is not type(b))
    return {"missing": sorted(set(want) - set(got)), "extra": sorted(set(got) - set(want)),
            "differing": differing[:20]}


def assert_big_table_is_truth(project, table: str) -> None:
    assert big_table_mismatches(project, table) == {"missing": [], "extra": [], "differing": []}


def passes(project, table: str) -> list[dict]:
    columns = ["pass_id", "kind", "started_at", "first_load_id", "position", "rows_seen", "listed_total",
               "completed_at"]
    rows = project.query(f"select {', '.join(columns)} from sync_passes where table_name = %s order by pass_id",
                         (table,))
    return [dict(zip(columns, row)) for row in rows]


def raw_duplicate_ids(project, table: str) -> list[int]:
    return [row[0] for row in project.query(
        f"select id from ft42_raw.{table} group by id having count(*) > 1")]


def ids_behind_position_missing_from_raw(project, table: str) -> list[int]:
    """Ids the API lists at or below the position of the table's newest pass that the raw table
    lacks: a chunk the ledger counts as committed that is not there. (The API must not have changed
    since the pass began.)"""
    newest = passes(project, table)[-1]
    behind = {item["id"] for item in project.emulator.listing(table) if item["id"] <= newest["position"]}
    in_raw = {row[0] for row in project.query(f"select id from ft42_raw.{table} where id <= %s",
                                               (newest["position"],))}
    return sorted(behind - in_raw)


def start_sync(project, **extra_env) -> subprocess.Popen:
    """The sync itself (not make, whose child a kill would miss), to be killed."""
    return subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "pipelines.ft42_pipeline"], cwd=ROOT,
                            env={**project.env, **extra_env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_for_no_sessions(project) -> None:
    """A killed sync's server sessions end once the server finds their client gone."""
    wait_until(lambda: project.query(
        "select count(*) from pg_stat_activity where datname = current_database() "
        "and pid <> pg_backend_pid()")[0][0] == 0)


def kill_sync_blocked_on(project, relation: str, **extra_env) -> None:
    """Start a sync, catch it waiting to write `relation`, SIGKILL it before that write happens."""
    blocker = project.server.connect(project.database)
    with blocker.cursor() as cur:
        cur.execute(f"lock table {relation} in exclusive mode")
    sync = start_sync(project, **extra_env)
    try:
        wait_until(lambda: project.query(
            "select count(*) from pg_stat_activity where datname = current_database() "
            "and wait_event_type = 'Lock'")[0][0] > 0, timeout=120)
        os.kill(sync.pid, signal.SIGKILL)
        sync.wait()
        # The dead sync's statement, already sent, would run once the lock is free, as if the sync
        # had lived to send it: end its sessions first, as a kill before the statement would.
        project.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() "
                      "and pid not in (pg_backend_pid(), %s)", (blocker.get_backend_pid(),))
    finally:
        blocker.rollback()
        blocker.close()
    wait_for_no_sessions(project)


def kill_sync_at_list_request(project, nth: int, **extra_env) -> None:
    """Start a sync and SIGKILL it as the API receives its `nth` list request (of any route: run
    it with the one table of interest in TABLES)."""
    emulator, counted, sync = project.emulator, {"requests": 0}, None

    def on_list_request(_emulator, _page):
        counted["requests"] += 1
        if counted["requests"] == nth:
            os.kill(sync.pid, signal.SIGKILL)
    emulator.on_list_request = on_list_request
    try:
        sync = start_sync(project, **extra_env)
        assert sync.wait(timeout=300) == -signal.SIGKILL, "the sync ended before the request to kill it at"
    finally:
        emulator.on_list_request = None
    wait_for_no_sessions(project)
