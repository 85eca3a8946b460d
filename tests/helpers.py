"""What several test modules check a sync with: the API's truth, the users table, the failure line,
and a sync killed mid-write. Fixtures live in conftest.py; these are plain functions."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime

from conftest import ROOT

from pipelines.ft42.declaration import declared_columns

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
