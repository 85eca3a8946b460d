"""Settings that would leak, destroy or disagree are refused, and what the sync writes is owner-only.

Against the real parts: `make sync` in a subprocess, the emulator, a real PostgreSQL.
"""

from __future__ import annotations

import socket
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import ROOT
from test_faults import FAST_RETRIES, failure_line, table_bytes
from test_sync import assert_synced


class Listener:
    """A TCP port on this machine's non-loopback address that records whatever arrives."""

    def __init__(self) -> None:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect(("192.0.2.1", 9))  # picks the outgoing interface; sends nothing
            self.host = probe.getsockname()[0]
        except OSError:
            self.host = "127.0.0.1"
        finally:
            probe.close()
        self.server = socket.create_server(("0.0.0.0", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.received = b""
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received += conn.recv(65536)
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.server.close()


def test_plain_http_to_a_remote_api_is_refused_before_the_secret_travels(project):
    assert_synced(project.sync())
    before = table_bytes(project)
    listener = Listener()
    if listener.host.startswith("127."):
        listener.close()
        pytest.skip("this machine has no non-loopback address to listen on")
    try:
        result = project.sync(API_ROOT=f"http://{listener.host}:{listener.port}", **FAST_RETRIES)
    finally:
        listener.close()
    assert listener.received == b""  # the secret never left: not even a connection was made
    assert result.returncode != 0
    line = failure_line(result)
    assert "API_ROOT" in line and "in clear" in line and "https://" in line
    assert project.env["CLIENT_SECRET"] not in result.stdout + result.stderr + project.log_text
    assert table_bytes(project) == before


@pytest.mark.parametrize("key", ["USERS_SCHEMA", "RAW_SCHEMA"])
def test_a_schema_name_carrying_sql_is_refused_and_runs_nothing(project, key):
    assert_synced(project.sync())
    conn = project.server.connect(project.database)
    with conn, conn.cursor() as cur:
        cur.execute("create table canary (id int); insert into canary values (42)")
    conn.close()
    before = table_bytes(project)
    runs = project.query("select count(*) from sync_runs")

    result = project.sync(**{key: 'x"; drop table canary; --'})

    assert project.query("select to_regclass('canary') is not null") == [(True,)]
    assert result.returncode != 0
    line = failure_line(result)
    assert f"{key}=" in line and "plain lower-case name" in line
    assert project.query("select id from canary") == [(42,)]
    assert project.query("select count(*) from sync_runs") == runs
    assert table_bytes(project) == before


def test_an_empty_setting_means_its_declared_default_for_dbt_too(project):
    """An empty variable means the default everywhere; dbt's own `env_var` default used to turn
    an empty FRESHNESS_* into 0 hours, so fresh data counted as stale."""
    assert_synced(project.sync())
    empty = {**project.env, "FRESHNESS_WARN_HOURS": "", "FRESHNESS_ERROR_HOURS": "", "MAX_REMOVED_SHARE": ""}
    fresh = subprocess.run(["make", "-s", "dbt", "ARGS=source freshness"], cwd=ROOT, env=empty,
                           capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "PASS" in fresh.stdout and "STALE" not in fresh.stdout and "WARN" not in fresh.stdout


def group_or_other_can_read_or_write(root: Path) -> list[str]:
    paths = [root, *root.rglob("*")] if root.is_dir() else [root]
    return [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}" for p in paths if p.lstat().st_mode & 0o066]


def test_the_run_log_dlt_packages_and_the_export_are_owner_only(project):
    assert_synced(project.sync())
    export = subprocess.run(["make", "-s", "export"], cwd=ROOT, env=project.env, capture_output=True, text=True,
                            timeout=300)
    assert export.returncode == 0, export.stdout + export.stderr

    log, exports, dlt_dir = (Path(project.env[key]) for key in ("SYNC_LOG_FILE", "EXPORT_DIR", "DLT_DATA_DIR"))
    assert log.stat().st_size and (exports / "all.json").stat().st_size
    # dlt's state and schemas (a loaded package is deleted at once: it holds every student's data)
    assert len([p for p in dlt_dir.rglob("*") if p.is_file()]) >= 3
    assert list(dlt_dir.glob("pipelines/*/*/load/loaded/*")) == []
    exposed = [line for root in (log, exports, dlt_dir) for line in group_or_other_can_read_or_write(root)]
    assert exposed == []
