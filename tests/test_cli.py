"""The `ft42` command line, its exit codes as cron sees them, and `pipelines.run_sync`, for real."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading

import pytest
from conftest import ROOT, free_port

from pipelines import cron, warehouse

PYTHON = str(ROOT / ".venv" / "bin" / "python")
COMMANDS = [[], ["sync"], ["plan"], ["status"], ["export"], ["cron"], ["cron", "install"], ["cron", "remove"],
            ["dbt"], ["docs"], ["lint"], ["psql"], ["db-stop"]]
MODULES = ["pipelines.cli", "pipelines.ft42_pipeline", "pipelines.status", "pipelines.export_users",
           "pipelines.cron"]


class Listener:
    """A TCP port that counts the connections made to it (a database or an API that was asked)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def test_help_on_every_command_prints_usage_and_starts_nothing(tmp_path):
    listener = Listener()
    embedded_dir = tmp_path / "pg"
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8",
            "API_ROOT": f"http://127.0.0.1:{listener.port}", "CLIENT_ID": "id", "CLIENT_SECRET": "secret",
            "SYNC_LOG_FILE": str(tmp_path / "run.log"), "DLT_DATA_DIR": str(tmp_path / "dlt")}
    configured = {**base, "DB_HOST": "127.0.0.1", "DB_PORT": str(listener.port)}
    embedded = {**base, "DB_HOST": "", "EMBEDDED_DB_DIR": str(embedded_dir), "EMBEDDED_DB_PORT": str(free_port())}
    runs = [(env, ["-m", "pipelines.cli", *command, "--help"]) for env in (configured, embedded)
            for command in COMMANDS]
    runs += [(configured, ["-m", module, "--help"]) for module in MODULES]
    for env, args in runs:
        result = subprocess.run([PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.startswith("usage: "), (args, result.stdout + result.stderr)
        assert listener.connections == 0, args  # no database, no API request
        assert not embedded_dir.exists(), args  # no embedded server
        assert not (tmp_path / "run.log").exists(), args  # no run started
    listener.sock.close()


def test_tables_accepts_the_declared_tables_only_and_lists_them():
    result = subprocess.run([PYTHON, "-m", "pipelines.cli", "sync", "--tables", "users", "projets"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "invalid choice: 'projets'" in result.stderr
    usage = subprocess.run([PYTHON, "-m", "pipelines.cli", "sync", "--help"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60).stdout
    assert all(table in usage for table in ("users", "cursus_users", "coalitions_users", "projects_users"))


def ft42(project, *args, **extra_env) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "pipelines.cli", *args], cwd=ROOT, env={**project.env, **extra_env},
                          capture_output=True, text=True, timeout=600)


def tables(project) -> list[tuple]:
    return project.query("select table_schema, table_name from information_schema.tables "
                         "where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2")


def test_plan_shows_each_tables_plan_and_size_and_changes_nothing(project):
    students = len(project.emulator.matching_users())
    result = ft42(project, "plan", TABLES="")  # every table
    assert result.returncode == 0, result.stderr
    assert (f"users: full (never listed on this database yet), {students} records in {students // 100 + 1} "
            "requests") in result.stdout
    assert "projects_users: backfill (no pass has listed the whole table yet); backfill pass starts" in result.stdout
    assert tables(project) == []  # not even the ledger
    lists = [path.replace("%5B", "[").replace("%5D", "]") for method, path, _ in project.emulator.request_log
             if method == "GET"]
    assert lists and all("page[size]=1" in path for path in lists)  # one size request per listing, no page

    assert project.sync(TABLES="users,cursus_users").returncode == 0
    before = (tables(project), project.query("select * from sync_runs"))
    result = ft42(project, "plan", "--tables", "users", "cursus_users", "coalitions")
    assert result.returncode == 0, result.stderr
    assert "users: incremental (changed since" in result.stdout
    assert "cursus_users: not due (listed " in result.stdout
    assert "coalitions: full (never listed on this database yet), 350 records in 4 requests" in result.stdout
    assert "projects" not in result.stdout
    assert (tables(project), project.query("select * from sync_runs")) == before
    assert "users: full (asked for with FULL=1)" in ft42(project, "plan", "--full").stdout

    no_credentials = ft42(project, "plan", CLIENT_ID="", CLIENT_SECRET="")
    assert no_credentials.returncode == 0 and "sizes unknown: CLIENT_ID / CLIENT_SECRET not set" in \
        no_credentials.stdout


@pytest.mark.skipif(not cron.SYNC_COMMAND.exists(), reason="the venv has no ft42 console script (run bootstrap)")
def test_the_installed_cron_line_hands_exit_code_75_to_cron_where_make_gave_2(project, tmp_path):
    command = cron.cron_line(6).split(None, 5)[5]
    log = str(ROOT / "logs" / "cron.log")
    assert log in command
    command = command.replace(log, str(tmp_path / "cron.log"))
    holder = project.server.connect(project.database)
    holder.autocommit = True
    with holder.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", (warehouse.SYNC_LOCK_KEY,))
    try:
        through_cron = subprocess.run(["/bin/sh", "-c", command], env=project.env, timeout=300)
        through_make = project.sync()
    finally:
        holder.close()
    assert through_cron.returncode == 75
    assert "Update skipped: another sync" in (tmp_path / "cron.log").read_text()
    assert through_make.returncode == 2  # why the line no longer goes through make


RUN_SYNC = """
import json, os, signal
from pipelines import run_sync
umask = os.umask(0o022)
result = run_sync()
print(json.dumps({"outcome": result.outcome, "exit_code": result.exit_code, "error": result.error,
                  "mode": result.mode, "requests": result.requests, "inserted": result.counts.inserted,
                  "users_total": result.users_total, "run_id": result.run_id,
                  "sigterm_untouched": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
                  "umask_restored": os.umask(0o022) == 0o022}))
"""


def run_sync_in(project, **extra_env) -> dict:
    result = subprocess.run([PYTHON, "-c", RUN_SYNC], cwd=ROOT, env={**project.env, **extra_env},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr  # a failed sync raises nothing
    return json.loads(result.stdout.splitlines()[-1])


def test_run_sync_returns_what_the_run_did_and_leaves_the_process_as_it_was(project):
    students = len(project.emulator.matching_users())
    done = run_sync_in(project)
    assert done["outcome"] == "succeeded" and done["exit_code"] == 0 and done["error"] is None
    assert done["mode"] == "full" and done["inserted"] == done["users_total"] == students
    assert done["requests"] == project.query("select api_requests from sync_runs")[0][0] > 0
    assert done["sigterm_untouched"] and done["umask_restored"]

    failed = run_sync_in(project, CLIENT_SECRET="wrong-secret", RUNTIME__REQUEST_MAX_ATTEMPTS="1")
    assert failed["outcome"] == "failed" and failed["exit_code"] == 1 and failed["mode"] == "incremental"
    assert failed["error"].startswith("users: planning failed: POST /oauth/token answered 401")
    assert failed["run_id"] == project.query("select max(run_id) from sync_runs where status = 'failed'")[0][0]
    assert f"Update failed: {failed['error']}" in project.log_text
