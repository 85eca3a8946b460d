"""One sync run as a function: what `ft42 sync` does, for the command line and for orchestrators.

    from pipelines import run_sync

    result = run_sync()  # settings from the environment and .env, as `ft42 sync` reads them
    if result.outcome == "failed":
        raise RuntimeError(result.error)

An ordinary failure (API down, bad credentials, database refused the load, a dbt test failed) is
returned, not raised: `outcome`, `exit_code` and the one-line `error` say what happened, and the
run log got the same `Update failed: …` line the command writes. Alerts are sent as the command
sends them (pipelines.alerts).

Inside an orchestrator the run keeps the process as it found it: no signal handlers, no deadline
that ends the process (use the orchestrator's own timeout: a killed run leaves `users` as it was
and frees its lock), the umask restored. It does set DLT_PROJECT_DIR when unset, so dlt reads the
checkout's `.dlt/config.toml` whatever the working directory.
"""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Literal

from .alerts import Alerts, database_label
from .failures import describe_error
from .ledger import RunCounts
from .private_files import keep_private
from .run_guard import RunGuard
from .run_log import RunLog
from .settings import (
    PROJECT_ROOT,
    AlertSettings,
    ConfigError,
    Settings,
    load_settings,
    read_environment,
    read_setting,
    require_api_credentials,
)
from .sync import SyncReport, TableOutcome, sync
from .warehouse import SyncAlreadyRunning

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ALREADY_RUNNING = 75  # EX_TEMPFAIL: cron may simply try again next time


@dataclass(frozen=True)
class SyncResult:
    outcome: Literal["succeeded", "failed", "skipped"]  # skipped: another sync held the database
    exit_code: int  # what `ft42 sync` exits with: 0, 1 or 75
    error: str | None  # the one line saying what failed (or why it skipped) and what to do
    mode: Literal["full", "incremental"] | None  # users' listing; None when not due or not reached
    run_id: int | None  # its row in sync_runs
    counts: RunCounts  # api_requests, rows_fetched, and users' inserted, updated, unchanged, removed, load_id
    users_total: int | None  # rows in users after a succeeded run
    tables: dict[str, TableOutcome]  # per table: mode, status (succeeded/failed/deferred/not due), error…

    @property
    def requests(self) -> int | None:
        return self.counts.api_requests


def run_sync(settings: Settings | None = None, *, full: bool | None = None,
             tables: list[str] | None = None, own_process: bool = False) -> SyncResult:
    """Run one sync and return what it did; raise nothing for a failed run.

    settings: as pipelines.settings.load_settings() returns them (None: read them now).
    full: True lists every selected table in full this run (FULL=1); None leaves it to FULL.
    tables: only these tables (TABLES); None leaves it to the TABLES setting.
    own_process: the run owns the process, as `ft42 sync` does: SIGTERM/SIGINT and
    RUN_DEADLINE_MINUTES end it at once with its failure line and exit code 143/130/1.
    """
    os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_ROOT))
    env = read_environment()
    log = RunLog(settings.log_file if settings else read_setting(env, "SYNC_LOG_FILE"))
    umask = os.umask(0o077)  # the caller's, to give back; keep_private sets the run's
    keep_private(env)
    log("Starting users update...")
    alerts = _alerts(settings, env, log)
    guard = _Guard(lambda reason: log(f"Update failed: {reason}", error=True))
    report = SyncReport()

    def result(outcome, exit_code: int, error: str | None = None) -> SyncResult:
        return SyncResult(outcome, exit_code, error, report.mode, report.run_id, report.counts, report.users_total,
                          report.tables)

    try:
        alerts.started()
        if settings is None:
            settings = load_settings(env)
        if full is not None:
            settings = replace(settings, sync=replace(settings.sync, force_full=full))
        if tables:
            settings = replace(settings, sync=replace(settings.sync, tables=tuple(tables)))
        require_api_credentials(settings.api)
        if own_process:
            guard.on_end(lambda reason: alerts.failed(reason, guard.exit_code, report.run_id))
            guard.watch(settings.sync.run_deadline_minutes)
        sync(settings, log, guard, report)
    except SyncAlreadyRunning as error:
        log(f"Update skipped: {error}", error=True)
        alerts.skipped(str(error))
        return result("skipped", EXIT_ALREADY_RUNNING, str(error))
    except Exception as error:  # the promise: one line, whatever went wrong
        reason = describe_error(error, None)
        log(f"Update failed: {reason}", error=True)
        alerts.failed(reason, EXIT_FAILED, report.run_id)
        return result("failed", EXIT_FAILED, reason)
    finally:
        guard.done()
        os.umask(umask)
    log("Update complete")
    alerts.succeeded()
    return result("succeeded", EXIT_OK)


class _Guard(RunGuard):
    """Remembers the exit code it ends the process with, for the alert its cleanup sends."""

    exit_code = EXIT_FAILED

    def end(self, reason: str, exit_code: int) -> None:
        self.exit_code = exit_code
        super().end(reason, exit_code)


def _alerts(settings: Settings | None, env, log: RunLog) -> Alerts:
    """Alerts from the settings; when they do not load, from whichever alert settings do: a
    broken .env is exactly the failure nobody would otherwise hear about."""
    if settings is not None:
        return Alerts(settings.alerts, database_label(settings.db), log)
    values = {}
    for key in ("ALERT_WEBHOOK_URL", "HEALTHCHECK_URL"):
        values[key] = None
        with suppress(ConfigError):
            values[key] = read_setting(env, key)
    database = "unknown database"
    with suppress(ConfigError):
        database = database_label(load_settings(env).db)
    return Alerts(AlertSettings(values["ALERT_WEBHOOK_URL"], values["HEALTHCHECK_URL"]), database, log)
