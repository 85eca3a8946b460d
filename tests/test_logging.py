"""The sync's log stream without a terminal (cron): step lines by default, dlt's and dbt's detail
at LOG_LEVEL=DEBUG, and no secret at either level."""

from __future__ import annotations

import re
from urllib.parse import quote

from conftest import CLIENT_SECRET
from helpers import assert_synced

STAMPED = re.compile(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] (.*)")


def messages(text: str) -> list[str]:
    lines = text.splitlines()
    assert all(STAMPED.fullmatch(line) for line in lines), lines
    return [STAMPED.fullmatch(line)[1] for line in lines]


def secrets(project) -> list[str]:
    password = project.server.password
    return [CLIENT_SECRET, password, quote(password, safe="")]


def test_without_a_terminal_the_step_lines_and_at_debug_dlt_and_dbt_detail_never_a_secret(project):
    quiet = project.sync()
    assert_synced(quiet)
    steps = messages(quiet.stdout)
    assert steps[0] == "Starting users update..." and steps[-1] == "Update complete"
    assert not [m for m in steps if m.startswith(("dlt:", "dbt:"))]  # no detail by default
    # The log file holds the same lines, less dbt's (they come from the dbt process).
    assert messages(project.log_text) == [m for m in steps if not m.startswith("dbt ")]

    debug = project.sync(LOG_LEVEL="DEBUG", FULL="1")
    assert_synced(debug)
    shown = messages(debug.stdout)
    assert any(m.startswith("dlt: ") for m in shown), shown  # dlt's debug records
    assert any(m.startswith("dbt: ") and "create" in m.lower() for m in shown), shown  # dbt's SQL
    assert "Update complete" in shown
    for written in (quiet.stdout, quiet.stderr, debug.stdout, debug.stderr, project.log_text):
        for secret in secrets(project):
            assert secret not in written
