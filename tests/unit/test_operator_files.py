"""What the sync leaves for people and old scripts: the crontab line, the run log, the fetch
metadata files and the live progress line."""

from __future__ import annotations

import io
import re
import shlex
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipelines import cron, progress, status
from pipelines.legacy_files import write_fetch_metadata
from pipelines.run_log import KEEP, RunLog

ROOT = cron.PROJECT_ROOT


# --------------------------------------------------------------------------------------- cron


def test_the_cron_line_runs_the_venv_ft42_sync_in_the_checkout_and_appends_to_its_log():
    # Not make: make would turn the sync's exit code 75 (another sync holds the database) into 2.
    root, log = shlex.quote(str(ROOT)), shlex.quote(str(ROOT / "logs" / "cron.log"))
    ft42 = shlex.quote(str(ROOT / ".venv" / "bin" / "ft42"))
    assert cron.cron_line(6) == f"0 */6 * * * cd {root} && {ft42} sync >> {log} 2>&1 # ft42-sync {ROOT}"
    assert cron.cron_line(12).startswith("0 0,12 * * * cd ")


def test_the_cron_line_quotes_a_path_with_spaces(monkeypatch):
    monkeypatch.setattr(cron, "SYNC_COMMAND", Path("/srv/my checkout/.venv/bin/ft42"))
    line = cron.cron_line(4)
    assert " && '/srv/my checkout/.venv/bin/ft42' sync >> " in line


def test_a_checkout_path_crontab_cannot_hold_is_refused(monkeypatch):
    monkeypatch.setattr(cron, "PROJECT_ROOT", Path("/srv/100%/ft42"))
    with pytest.raises(cron.CronError, match="contains % or a newline"):
        cron.cron_line(6)


@pytest.mark.parametrize("line, ours", [
    (f"0 */6 * * * cd {ROOT} && make -s sync # ft42-sync {ROOT}", True),
    (f"0 */6 * * * cd {ROOT} && make -s sync # ft42-sync {ROOT}   ", True),
    (f"0 */4 * * * cd {ROOT}-old && make -s sync # ft42-sync {ROOT}-old", False),
    (f"0 */4 * * * cd /x{ROOT} && make -s sync # ft42-sync /x{ROOT}", False),
    (f"# ft42-sync {ROOT} was here: 0 */6 * * * true", False),
    ("17 3 * * * /usr/bin/true", False),
], ids=["ours", "ours-trailing-space", "sibling-checkout", "nested-checkout", "marker-mid-line", "unrelated"])
def test_only_this_checkouts_line_is_recognised_as_ours(line, ours):
    assert cron.is_ours(line) is ours


# ------------------------------------------------------------------------------------ run log

STAMPED = re.compile(r"\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\] (.*)")


@pytest.mark.parametrize("every", [1, 6, 12, 24])
def test_the_installed_cron_period_is_read_back_from_our_line(monkeypatch, every):
    foreign = "0 * * * * /usr/bin/backup"
    monkeypatch.setattr(cron, "read_crontab", lambda: [foreign, cron.cron_line(every)])
    assert cron.installed_every_hours() == every
    monkeypatch.setattr(cron, "read_crontab", lambda: [foreign])
    assert cron.installed_every_hours() is None


def test_a_pass_eta_counts_runs_at_the_recent_pace_and_time_at_the_cron_period():
    # 19,950 rows left: 200 requests; at 100 a run, 2 runs; every 6 h: 12 h.
    assert status.pass_eta(19_950, 100.0, 6) == "about 2 more runs, 12h00m at a run every 6 h"
    assert status.pass_eta(19_950, 100.0, None) == "about 2 more runs (no cron line installed)"
    assert status.pass_eta(19_950, None, 6) == "ETA unknown until a run has spent budget on it"


def test_each_run_log_line_is_stamped_in_utc_and_also_printed(tmp_path, capsys):
    log = RunLog(tmp_path / "logs" / "update_users.log")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    log("Starting users update...")
    log("Update failed: fetch failed: the API is down", error=True)
    after = datetime.now(timezone.utc)

    lines = (tmp_path / "logs" / "update_users.log").read_text().splitlines()
    assert [STAMPED.fullmatch(line)[2] for line in lines] == [
        "Starting users update...", "Update failed: fetch failed: the API is down"]
    for line in lines:
        stamp = datetime.strptime(STAMPED.fullmatch(line)[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        assert before <= stamp <= after
    shown = capsys.readouterr()
    assert shown.out == lines[0] + "\n" and shown.err == lines[1] + "\n"  # failures go to stderr


def test_the_run_log_appends_to_what_is_there(tmp_path, capsys):
    path = tmp_path / "update_users.log"
    path.write_text("[2020-01-01T00:00:00Z] an old line\n")
    RunLog(path)("Update complete")
    assert path.read_text().splitlines()[0] == "[2020-01-01T00:00:00Z] an old line"
    assert path.read_text().splitlines()[1].endswith("] Update complete")


def test_a_full_run_log_moves_aside_keeping_three_old_files(tmp_path, capsys):
    path = tmp_path / "update_users.log"
    log = RunLog(path, max_bytes=100)
    for n in range(KEEP + 2):
        path.write_text(f"run {n}\n" + "x" * 100 + "\n")  # past the cap
        log(f"after run {n}")
        assert path.read_text().splitlines()[0].endswith(f"] after run {n}")
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == ["update_users.log", "update_users.log.1", "update_users.log.2", "update_users.log.3"]
    # Newest first: .1 holds the run before the last, the oldest ones are gone.
    assert [path.with_name(f"update_users.log.{n}").read_text().splitlines()[0] for n in (1, 2, 3)] == [
        f"run {KEEP + 1}", f"run {KEEP}", f"run {KEEP - 1}"]


def test_a_run_log_under_the_cap_stays_one_file(tmp_path, capsys):
    path = tmp_path / "update_users.log"
    log = RunLog(path, max_bytes=10_000)
    for n in range(20):
        log(f"line {n}")
    assert [p.name for p in tmp_path.iterdir()] == ["update_users.log"]
    assert len(path.read_text().splitlines()) == 20


# ------------------------------------------------------------------------ old metadata files


def test_the_old_fetch_metadata_files_after_an_incremental_run(tmp_path):
    finished = datetime(2026, 3, 14, 12, 0, 7, tzinfo=timezone.utc)
    export_dir = tmp_path / "exports" / "08_users"
    write_fetch_metadata(export_dir, finished, mode="incremental", requests=4, items=330, total=40335,
                         since=datetime(2026, 3, 14, 5, 50, tzinfo=timezone.utc),
                         until=datetime(2026, 3, 14, 12, 0, 0, 500000, tzinfo=timezone.utc),
                         downloaded_bytes=1_234_567)
    epoch = int(finished.timestamp())
    assert (export_dir / ".last_fetch_epoch").read_text() == f"{epoch}\n"
    assert (export_dir / ".last_fetch_stats").read_text() == (
        f"timestamp={epoch}\npages=4\nitems_merged=330\nsince=2026-03-14T05:50:00Z\n"
        "until=2026-03-14T12:00:00Z\ndownloaded_kB=1205\nmode=incremental\nusers_total=40335\n")


def test_a_full_run_has_no_since_so_the_files_say_the_epoch(tmp_path):
    finished = datetime(2026, 3, 14, 12, 3, 0, tzinfo=timezone.utc)
    write_fetch_metadata(tmp_path, finished, mode="full", requests=405, items=40335, total=40335, since=None,
                         until=datetime(2026, 3, 14, 12, 0, 0, tzinfo=timezone.utc), downloaded_bytes=0)
    stats = dict(line.split("=", 1) for line in (tmp_path / ".last_fetch_stats").read_text().splitlines())
    assert stats["since"] == "1970-01-01T00:00:00Z" and stats["mode"] == "full"
    assert stats["timestamp"] == (tmp_path / ".last_fetch_epoch").read_text().strip()


# --------------------------------------------------------------------------------- progress


@pytest.mark.parametrize("fetched, shown", [
    (500, "\r  fetching: 5/13 pages, 500/1234 users, 0.5 req/s, ETA 0m16s "),
    (100, "\r  fetching: 1/13 pages, 100/1234 users, 0.1 req/s, ETA 2m00s "),
])
def test_the_progress_line_counts_pages_from_x_total_and_estimates_the_time_left(fetched, shown):
    screen = io.StringIO()
    line = progress.FetchProgress(screen)
    line.started = time.monotonic() - 10  # ten seconds into the fetch
    line(fetched, 1234)
    assert screen.getvalue() == shown


def test_the_progress_line_ends_with_a_newline_only_if_it_was_shown():
    screen = io.StringIO()
    progress.FetchProgress(screen).close()
    assert screen.getvalue() == ""
    line = progress.FetchProgress(screen)
    line(1234, 1234)
    line.close()
    assert screen.getvalue().startswith("\r  fetching: 13/13 pages, 1234/1234 users, ")
    assert screen.getvalue().endswith("ETA 0m00s \n")


def test_the_progress_of_an_empty_listing_shows_one_page():
    screen = io.StringIO()
    progress.FetchProgress(screen)(0, 0)
    assert "fetching: 0/1 pages, 0/0 users" in screen.getvalue()


def test_the_run_log_file_is_owner_only_whatever_the_umask(tmp_path, capsys):
    import os
    old = os.umask(0o022)
    try:
        RunLog(tmp_path / "update_users.log")("Update complete")
    finally:
        os.umask(old)
    assert (tmp_path / "update_users.log").stat().st_mode & 0o777 == 0o600


def test_log_level_warning_keeps_warnings_and_the_failure_and_hides_the_steps(tmp_path, capsys):
    path = tmp_path / "update_users.log"
    log = RunLog(path, level="WARNING")
    log("Staged 330 users")
    log("Warning: the API sends fields the sync does not store: pronouns")
    log("Update failed: fetch failed", error=True)
    assert [line.split("] ", 1)[1] for line in path.read_text().splitlines()] == [
        "Warning: the API sends fields the sync does not store: pronouns", "Update failed: fetch failed"]


def test_dlt_records_join_the_stream_on_one_line_without_rows_or_traceback(tmp_path, capsys):
    import logging
    path = tmp_path / "update_users.log"
    RunLog(path, level="INFO")
    dlt_logger = logging.getLogger("dlt")
    dlt_logger.setLevel(logging.DEBUG)  # what dlt's runtime does with RUNTIME__LOG_LEVEL=DEBUG
    dlt_logger.info("Making GET request to /v2/cursus/21/users")  # below dlt's threshold at INFO
    try:
        raise ValueError("boom")
    except ValueError:
        dlt_logger.exception('Job failed: duplicate key\nDETAIL:  Key (email)=(jdoe@student.42.fr) exists')
    shown = capsys.readouterr()
    assert shown.out == ""
    (line,) = shown.err.splitlines()
    assert STAMPED.fullmatch(line)[2] == "dlt error: Job failed: duplicate key"
    assert path.read_text() == line + "\n"


def test_at_debug_dlt_detail_is_shown_and_dlt_cannot_replace_the_line_format(tmp_path, capsys):
    import logging
    RunLog(tmp_path / "update_users.log", level="DEBUG")
    dlt_logger = logging.getLogger("dlt")
    dlt_logger.handlers[0].setFormatter(logging.Formatter("{asctime}|{message}", style="{"))  # as dlt does
    dlt_logger.setLevel(logging.DEBUG)
    dlt_logger.debug("Obtaining token from /oauth/token")
    assert STAMPED.fullmatch(capsys.readouterr().out.strip())[2] == "dlt: Obtaining token from /oauth/token"


@pytest.mark.parametrize("level, terminal, dbt_shown", [
    ("INFO", True, "INFO"), ("INFO", False, "WARNING"), ("DEBUG", False, "DEBUG"), ("ERROR", True, "ERROR")])
def test_dbt_shows_its_model_lines_on_a_terminal_warnings_under_cron_detail_at_debug(level, terminal, dbt_shown):
    import logging

    from pipelines.run_log import library_levels
    assert library_levels(level, terminal)["dbt"] == logging.getLevelName(dbt_shown)
    assert library_levels(level, terminal)["dlt"] == (logging.DEBUG if level == "DEBUG"
                                                     else max(logging.WARNING, logging.getLevelName(level)))


def test_dbt_events_become_stamped_lines_errors_on_stderr(capsys):
    from types import SimpleNamespace

    from pipelines.run_log import dbt_event_logger
    forward = dbt_event_logger("INFO")  # not a terminal under pytest: warnings and errors only
    for level, msg in [("info", "1 of 3 OK created sql view model x"), ("warn", "\x1b[33mcareful\x1b[0m"),
                       ("error", "Database Error in model users\nDETAIL:  Failing row contains (42, jdoe)")]:
        forward(SimpleNamespace(info=SimpleNamespace(level=level, msg=msg)))
    shown = capsys.readouterr()
    assert [STAMPED.fullmatch(line)[2] for line in shown.out.splitlines()] == ["dbt warning: careful"]
    assert [STAMPED.fullmatch(line)[2] for line in shown.err.splitlines()] == [
        "dbt error: Database Error in model users"]
