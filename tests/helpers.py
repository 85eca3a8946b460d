"""What several test modules check a sync with: the API's truth, the users table, the failure line,
and a sync killed mid-write. Fixtures live in conftest.py; these are plain functions."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime
from decimal import Decimal

from conftest import ROOT

from pipelines.ft42.declaration import declared_columns, fetched_columns, listings, marts

# `users` as declared (dbt_project/models/marts/users.yml): (name, type as information_schema
# reports it), in order.
USERS_COLUMNS = [(column.name, column.data_type) for column in declared_columns("users")]
# Those whose values come from the API (not made by the models).
DATA_COLUMNS = [column.name for column in declared_columns("users") if column.api_path is not None]
TIMESTAMPS = {name for name, data_type in USERS_COLUMNS if data_type == "timestamp with time zone"}


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def expected_row(user: dict) -> tuple:
    """What `users` must hold for one API user object, column by column."""
    image = user["image"] or {}
    versions = image.get("versions") or {}
    flat = {
        **{k: v for k, v in user.items() if k != "image"},
        "staff_p": user["staff?"], "alumni_p": user["alumni?"], "active_p": user["active?"],
        "image_link": image.get("link"), "image_large": versions.get("large"),
        "image_medium": versions.get("medium"), "image_small": versions.get("small"),
        "image_micro": versions.get("micro"),
    }
    return tuple(instant(flat[c]) if c in TIMESTAMPS else flat[c] for c in DATA_COLUMNS)


def users_table(project) -> dict[int, tuple]:
    rows = project.query(f"select {', '.join(DATA_COLUMNS)} from users")
    return {row[0]: row for row in rows}


def api_truth(project) -> dict[int, tuple]:
    return {u["id"]: expected_row(u) for u in project.emulator.matching_users()}


# The tables listed in full or incrementally, and the tables made from them: what a test of them
# syncs (TABLES), leaving the big tables, backfilled across runs, to their own tests.
SMALL_LISTINGS = [listing.table for listing in listings() if listing.keep_current != "backfill"]
SMALL_MARTS = [table for table in marts()
               if table not in {listing.table for listing in listings() if listing.keep_current == "backfill"}]


def assert_synced(result) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def table_bytes(project) -> list[tuple]:
    """Every value and every row version (xmin) of users: equal means not touched at all."""
    return project.query("select u::text, xmin::text from users u order by id")


def failure_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if "Update failed" in line or "Update skipped" in line]
    assert len(lines) == 1, result.stdout + result.stderr
    return lines[0]


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the sync never reached the point to kill it at"
        time.sleep(0.05)


def kill_sync_while_it_writes(project, table: str) -> None:
    """Start a sync, catch it waiting to write `table` (inside its transaction), SIGKILL it."""
    # Block writes, not reads, so the sync gets as far as its write before it waits.
    blocker = project.server.connect(project.database)
    with blocker.cursor() as cur:
        cur.execute(f"lock table {table} in exclusive mode")
    sync = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "pipelines.ft42_pipeline"], cwd=ROOT,
                            env=project.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: project.query(
            "select count(*) from pg_stat_activity where datname = current_database() "
            "and wait_event_type = 'Lock'")[0][0] > 0)
        os.kill(sync.pid, signal.SIGKILL)
        sync.wait()
    finally:
        blocker.rollback()
        blocker.close()
    # The killed sync's server session ends once it finds its client gone.
    wait_until(lambda: project.query(
        "select count(*) from pg_stat_activity where datname = current_database() "
        "and pid <> pg_backend_pid()")[0][0] == 0)


# Retries without waiting, so the matrix stays fast; the behaviour is the same.
FAST_RETRIES = {"RUNTIME__REQUEST_BACKOFF_FACTOR": "0", "RUNTIME__REQUEST_MAX_ATTEMPTS": "4"}


def after_nth_list_request(n: int, action):
    calls = {"count": 0}

    def hook(emu, _page):
        calls["count"] += 1
        if calls["count"] == n:
            action(emu)
    return hook


def make_truth_move(project) -> None:
    """Change the API after the first sync, so a run that wrongly succeeds would show."""
    emulator, ids = project.emulator, sorted(u["id"] for u in project.emulator.matching_users())
    for user_id in ids[::40]:
        emulator.update_user(user_id, wallet=4242, location="c4r2s1")
    emulator.alumnize(ids[1])
    emulator.add_students(2)


def synced(project, **env):
    result = project.sync(**FAST_RETRIES, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# ---------------------------------------------------------------- every table against the API's truth

def _api_value(record: dict, path: tuple[str, ...]):
    value = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _as_postgres_returns(value, data_type: str):
    """An API value as psycopg2 reads it back from a column of `data_type`."""
    if value is None:
        return None
    if data_type == "timestamp with time zone":
        return instant(value)
    if data_type == "numeric":
        # The JSON number's text, exactly: what a numeric column holds for it.
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return value


def truth_records(emulator, table: str) -> list[dict]:
    """What the table's rows come from, as the issue defines each table (not as the project's
    declarations say to fetch it: a filter dropped from a yml must show as a difference)."""
    if table == "users":
        return emulator.matching_users()  # cursus 21, kind student, not alumni
    if table == "cursus_user_skills":
        # One record per skill of an enrolment: `id` the enrolment's, `skills` the one skill.
        return [{"id": enrolment["id"], "skills": skill}
                for enrolment in emulator.listing("cursus_users") for skill in enrolment["skills"] or []]
    if table == "coalitions_users":
        enrolled = {enrolment["user"]["id"] for enrolment in emulator.listing("cursus_users")}
        return [membership for membership in emulator.listing("coalitions_users")
                if membership["user_id"] in enrolled]
    return list(emulator.listing(table))  # the cursus's own (cursus 21) where the route has one


def truth_rows(emulator, table: str) -> set[tuple]:
    """Every declared data column of `table`, row by row, as the API's truth says it must be."""
    columns = fetched_columns(table)
    return {tuple(_as_postgres_returns(_api_value(record, column.api_path), column.data_type)
                  for column in columns)
            for record in truth_records(emulator, table)}


def table_rows(project, table: str) -> set[tuple]:
    names = ", ".join(column.name for column in fetched_columns(table))
    rows = project.query(f"select {names} from {table}")
    held = set(rows)
    assert len(held) == len(rows), f"{table} holds duplicate rows"
    return held


def differences(project, table: str) -> str:
    """'' when `table` holds exactly the truth; else what differs, a few rows each way."""
    held, truth = table_rows(project, table), truth_rows(project.emulator, table)
    if held == truth:
        return ""
    extra, missing = sorted(held - truth, key=repr), sorted(truth - held, key=repr)
    return (f"{table}: {len(extra)} rows not in the truth (e.g. {extra[:3]}), "
            f"{len(missing)} rows of the truth missing (e.g. {missing[:3]})")


def assert_mirrors(project, tables=None) -> None:
    """Each table (default: every table the project publishes) equals the API's truth, all columns."""
    tables = marts() if tables is None else tables
    problems = [problem for table in tables if (problem := differences(project, table))]
    assert not problems, "\n".join(problems)


def table_state(project, table: str) -> list[tuple]:
    """Every value and row version (xmin) of any table: equal means not touched at all."""
    return project.query(f"select t::text, xmin::text from {table} t order by 1")


def sync_tables(project, run_id=None) -> dict[str, dict]:
    """The last run's (or `run_id`'s) rows of sync_tables, by table."""
    columns = ["table_name", "mode", "status", "planned_requests", "api_requests", "listed_total",
               "rows_fetched", "error", "published_at"]
    rows = project.query(
        f"select {', '.join(columns)} from sync_tables "
        "where run_id = coalesce(%s, (select max(run_id) from sync_tables))", (run_id,))
    return {row[0]: dict(zip(columns, row)) for row in rows}


def plan_lines(text: str) -> dict[str, str]:
    """The `Plan <table>: …` lines of a run's output, by table (the last of each)."""
    found = {}
    for line in text.splitlines():
        if "] Plan " in line:
            table, _, what = line.split("] Plan ", 1)[1].partition(": ")
            found[table] = what
    return found


def fail_listing(emulator, resource: str, status: int = 500, pages_only: bool = True) -> None:
    """From now on every request for `resource`'s pages (or, `pages_only=False`, any of its
    requests, the size request too) is answered `status`, while other listings answer normally."""
    page_of = emulator.resource_page

    def failing(name, query):
        if name == resource and (query.per_page > 1 or not pages_only):
            emulator.answer_next("list" if query.per_page > 1 else "size", status=status, body=b"<html>oops</html>",
                                 headers={"Content-Type": "text/html"}, times=1)
        return page_of(name, query)
    emulator.resource_page = failing


def execute(project, statement: str, params=()) -> None:
    """One statement, committed (Project.query reads only)."""
    conn = project.server.connect(project.database)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)
    finally:
        conn.close()


def age_last_listings(project, table: str, hours: float) -> None:
    """As if `table`'s listings had started `hours` earlier: the plan's clock, without waiting."""
    execute(project, "update sync_tables set started_at = started_at - make_interval(secs => %s) "
                     "where table_name = %s", (hours * 3600, table))
