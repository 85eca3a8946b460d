"""What a person sees: live progress on a terminal, one line per step under cron; a capped log."""

from __future__ import annotations

import os
import pty
import subprocess

from conftest import ROOT
from helpers import assert_synced


def sync_on_a_terminal(project) -> str:
    """Run `make sync` with a pseudo-terminal as its stdin, stdout and stderr; return what it showed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(["make", "-s", "sync"], cwd=ROOT, env={**project.env, "TERM": "xterm"},
                               stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closes when the sync and make have exited
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=300) == 0, shown.decode(errors="replace")
    return shown.decode(errors="replace")


def test_a_terminal_shows_live_fetch_progress_and_each_dbt_step(project):
    shown = sync_on_a_terminal(project)
    students = len(project.emulator.matching_users())
    assert "\r  fetching: 1/13 pages, 100/1234 users" in shown
    assert f"fetching: 13/13 pages, {students}/{students} users" in shown and "ETA" in shown
    assert "OK created sql incremental model public.users" in shown  # dbt's live per-node lines


def test_without_a_terminal_each_step_is_one_timestamped_line_and_the_log_is_capped(project):
    log = project.workdir / "update_users.log"
    log.write_text("[2020-01-01T00:00:00Z] an old line\n" * 200_000)  # about 7 MB
    result = project.sync()
    assert_synced(result)
    lines = result.stdout.splitlines()  # dbt's warnings show under cron: none is expected
    assert "\r" not in result.stdout + result.stderr
    assert all(line.startswith("[20") for line in lines), lines
    assert [line.split("] ", 1)[1].split(" ")[0] for line in lines] == [
        "Starting", "Plan", "Staged", "Users:", "Update"]
    # Past 5 MB the log moves aside and starts afresh.
    assert log.with_name("update_users.log.1").stat().st_size > 5_000_000
    assert log.stat().st_size < 1_000 and "Update complete" in log.read_text()
