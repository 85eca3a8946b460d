"""The operator tools: `pipelines.export_users`, `pipelines.status` and `pipelines.cron`.

Export and status run against a real PostgreSQL after a real `make sync` (once: a sync costs
seconds); the cron tests drive the real `crontab` of the current user, saved and restored.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from datetime import datetime, timezone

import pytest
from conftest import ROOT, TRICKY_PASSWORD
from helpers import USERS_COLUMNS

from pipelines import cron

# The cron tests share the user's one crontab: with pytest-xdist they must run on one worker.
pytestmark = pytest.mark.xdist_group("crontab")

PYTHON = str(ROOT / ".venv" / "bin" / "python")
MARKER = f"# ft42-sync {ROOT}"


def tool(env: dict, module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", f"pipelines.{module}", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def utc_ms(value: datetime | None) -> str | None:
    """The export's timestamp format, written independently of the module under test."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def test_export_and_status_after_a_sync(project):
    assert project.sync().returncode == 0

    # --- export, default path under EXPORT_DIR
    result = tool(project.env, "export_users")
    target = project.workdir / "exports" / "all.json"
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"Exported {project.query('select count(*) from users')[0][0]} users "
                                          f"to {target}"]
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")] == []
    exported = json.loads(target.read_text(encoding="utf-8"))

    columns = [name for (name,) in project.query(
        "select column_name from information_schema.columns where table_schema = 'public' "
        "and table_name = 'users' order by ordinal_position")]
    timestamps = {name for (name,) in project.query(
        "select column_name from information_schema.columns where table_schema = 'public' "
        "and table_name = 'users' and data_type = 'timestamp with time zone'")}
    assert columns == [name for name, _ in USERS_COLUMNS] and all(list(record) == columns for record in exported)
    rows = project.query(f"select {', '.join(columns)} from users order by id")
    assert [record["id"] for record in exported] == [row[0] for row in rows]
    for record, row in zip(exported, rows):
        want = {c: utc_ms(v) if c in timestamps else v for c, v in zip(columns, row)}
        assert record == want
        assert all(type(record[c]) is type(want[c]) for c in columns)  # True stays true, not 1

    # The emulator's own strings: created_at & co. are already UTC with milliseconds.
    by_id = {record["id"]: record for record in exported}
    truth = project.emulator.matching_users()
    assert set(by_id) == {user["id"] for user in truth}
    for user in truth:
        record = by_id[user["id"]]
        for api, column in (("created_at", "created_at"), ("updated_at", "updated_at"),
                            ("alumnized_at", "alumnized_at"), ("login", "login"), ("wallet", "wallet"),
                            ("staff?", "staff_p"), ("alumni?", "alumni_p"), ("active?", "active_p")):
            assert record[column] == user[api] and type(record[column]) is type(user[api]), (user["id"], column)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", exported[0]["ingested_at"])
    assert {record["active_p"] for record in exported} == {True, False}

    # --- export to an explicit path
    explicit = project.workdir / "elsewhere" / "users.json"
    result = tool(project.env, "export_users", str(explicit))
    assert result.returncode == 0 and result.stdout.strip().endswith(f"users to {explicit}")
    assert json.loads(explicit.read_text(encoding="utf-8")) == exported

    # --- status: location without password, row count, the run's counts, freshness, log tail
    (run,) = project.query("select mode, status, api_requests, rows_fetched, inserted, updated, unchanged, "
                           "removed from sync_runs")
    result = tool(project.env, "status")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert TRICKY_PASSWORD not in out + result.stderr
    assert f"{project.server.host}:{project.server.port}/{project.database}" in out
    assert ["users", str(len(rows))] in [line.split()[:2] for line in out.splitlines()]  # its row in `tables`
    run_lines = [line.split() for line in out.splitlines() if line.startswith("  20")]
    assert len(run_lines) == 1  # started date, time, mode, status, duration, then the counts
    assert run_lines[0][2:4] == [run[0], run[1]] and run_lines[0][5:] == [str(n) for n in run[2:]]
    assert run[4] == len(rows)  # a first run inserts everyone
    assert re.search(r"^freshness .* ago \(.* UTC\): ok$", out, re.M)
    assert "  " + project.log_text.splitlines()[-1] in out.splitlines()

    stale = tool({**project.env, "FRESHNESS_ERROR_HOURS": "0"}, "status")
    assert re.search(r"^freshness .*: STALE$", stale.stdout, re.M)


def test_status_and_export_on_a_database_never_synced(project):
    result = tool(project.env, "status")
    assert result.returncode == 0, result.stderr
    assert "no sync has run yet" in result.stdout
    assert ["users", "-", "never"] in [line.split()[:3] for line in result.stdout.splitlines()]

    result = tool(project.env, "export_users")
    assert result.returncode == 2
    assert "run `make sync` first" in result.stderr
    assert not (project.workdir / "exports").exists() or list((project.workdir / "exports").iterdir()) == []


# --------------------------------------------------------------------------------------- cron


def test_schedules_for_every_allowed_interval():
    assert cron.schedule(6) == "0 */6 * * *"
    assert cron.schedule(12) == "0 0,12 * * *"
    assert cron.schedule(24) == "0 0 * * *"
    assert cron.schedule(1) == "0 */1 * * *"
    for bad in (0, 5, 7, 25, 48):
        with pytest.raises(cron.CronError, match="divide a day evenly"):
            cron.schedule(bad)


def test_cron_without_crontab_says_to_install_cron(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on PATH, so no crontab either
    for args in (["install", "6"], ["remove"], ["show"]):
        result = tool(env, "cron", *args)
        assert result.returncode == 2 and "crontab not found: install cron" in result.stderr


def crontab_lines() -> list[str]:
    result = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    return result.stdout.splitlines() if result.returncode == 0 else []


def set_crontab(lines: list[str]) -> None:
    subprocess.run(["crontab", "-"], input="".join(f"{line}\n" for line in lines), text=True, check=True)


@pytest.fixture
def user_crontab():
    """The real crontab of the current user, put back exactly as it was after the test."""
    if shutil.which("crontab") is None:
        pytest.skip("crontab is not installed (apt-get install cron): the cron tests need the real command")
    saved = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    try:
        yield
    finally:
        if saved.returncode == 0:
            subprocess.run(["crontab", "-"], input=saved.stdout, text=True, check=True)
        else:
            subprocess.run(["crontab", "-r"], capture_output=True)  # there was none


def test_cron_install_replaces_and_remove_keeps_other_lines(user_crontab):
    unrelated = ["MAILTO=ops@example.org", "17 3 * * * /usr/bin/true  # someone else's job",
                 f"0 */4 * * * cd {ROOT}-other && make -s sync # ft42-sync {ROOT}-other"]
    set_crontab(unrelated)
    env = dict(os.environ)

    for _ in range(2):
        result = tool(env, "cron", "install", "6")
        assert result.returncode == 0, result.stderr
    lines = crontab_lines()
    ours = [line for line in lines if line.endswith(MARKER)]
    assert len(ours) == 1 and [line for line in lines if line not in ours] == unrelated
    fields = ours[0].split(None, 5)
    assert fields[:5] == ["0", "*/6", "*", "*", "*"]
    command = fields[5]
    ft42 = ROOT / ".venv" / "bin" / "ft42"
    assert command == f"cd {ROOT} && {ft42} sync >> {ROOT}/logs/cron.log 2>&1 {MARKER}"
    assert os.path.isabs(shlex.split(command)[1]) and os.path.isabs(shlex.split(command)[3])
    assert subprocess.run(["sh", "-n", "-c", command]).returncode == 0  # what cron hands to /bin/sh parses
    assert tool(env, "cron", "show").stdout.strip() == ours[0]

    assert tool(env, "cron", "install", "12").returncode == 0
    ours = [line for line in crontab_lines() if line.endswith(MARKER)]
    assert len(ours) == 1 and ours[0].startswith("0 0,12 * * * cd ")

    result = tool(env, "cron", "install", "5")
    assert result.returncode == 2 and "divide a day evenly" in result.stderr
    assert [line for line in crontab_lines() if line.endswith(MARKER)] == ours  # unchanged

    result = tool(env, "cron", "remove")
    assert result.returncode == 0, result.stderr
    assert crontab_lines() == unrelated
    assert "nothing to remove" in tool(env, "cron", "remove").stdout
    assert crontab_lines() == unrelated


def test_cron_install_into_an_empty_crontab(user_crontab):
    subprocess.run(["crontab", "-r"], capture_output=True)  # "no crontab for <user>" from here on
    assert "no ft42 sync line" in tool(dict(os.environ), "cron", "show").stdout
    result = tool(dict(os.environ), "cron", "install", "24")
    assert result.returncode == 0, result.stderr
    (line,) = crontab_lines()
    assert line.startswith("0 0 * * * cd ") and line.endswith(MARKER)
