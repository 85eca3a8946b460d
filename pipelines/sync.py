"""One sync: plan (full or incremental), fetch + load with dlt, dbt build, record the run."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Literal

import dlt
import psycopg2
import pyarrow as pa
from dlt.pipeline.exceptions import PipelineStepFailed

from . import dlt_workdir, users_changes, warehouse
from .dbt_build import BuildOutcome, PrewarmedDbt
from .failures import SyncFailed, describe_error, describe_failure, without_row_data
from .ft42 import Ft42Api, connect_api, ft42_source
from .ledger import LastRuns, Ledger, RunCounts
from .legacy_files import write_fetch_metadata
from .progress import FetchProgress, interactive
from .run_guard import RunGuard
from .run_log import RunLog
from .settings import DbSettings, Settings, SyncSettings

PIPELINE_NAME = "ft42_users"


@dataclass(frozen=True)
class Staged:
    """What the fetch and load put into the raw schema."""

    rows: int
    load_id: str | None


@dataclass
class SyncReport:
    """What a run got to, filled in as it goes: still readable when the run failed part-way."""

    mode: Literal["full", "incremental"] | None = None
    run_id: int | None = None  # its row in sync_runs
    counts: RunCounts = field(default_factory=RunCounts)
    users_total: int | None = None  # rows in users after the run


@dataclass(frozen=True)
class RunPlan:
    mode: Literal["full", "incremental"]
    started_at: datetime
    cursor_before: datetime | None
    reason: str

    @property
    def updated_between(self) -> tuple[datetime, datetime] | None:
        return None if self.mode == "full" else (self.cursor_before, self.started_at)


def plan_run(last: LastRuns, sync: SyncSettings, now: datetime) -> RunPlan:
    if sync.force_full:
        return RunPlan("full", now, None, "asked for with FULL=1")
    if last.last_full_at is None or last.cursor is None:
        return RunPlan("full", now, None, "no full listing has succeeded on this database yet")
    age = now - last.last_full_at
    if age > timedelta(hours=sync.full_max_age_hours):
        return RunPlan("full", now, None, f"the last full listing is {age.total_seconds() / 3600:.1f} h old")
    # Reach back a little: a change committed upstream just before the last run may carry an
    # updated_at a moment older than that run's start.
    since = last.cursor - timedelta(minutes=sync.lag_minutes)
    return RunPlan("incremental", now, since, f"users changed since {since:%Y-%m-%d %H:%M:%S} UTC")


def fetch_and_load(settings: Settings, db: DbSettings, api: Ft42Api, plan: RunPlan, log: RunLog) -> Staged:
    pipelines_dir = dlt_workdir.destination_dir(settings.dlt_data_dir, db)
    set_aside = dlt_workdir.set_aside_unfinished(pipelines_dir, PIPELINE_NAME)
    if set_aside:
        log(f"Set aside the unfinished load an interrupted or failed run left behind (kept in {set_aside}); "
            "fetching afresh")
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(pipelines_dir),
        destination=dlt.destinations.postgres(credentials={
            "host": db.host, "port": db.port, "database": db.name,
            "username": db.user, "password": db.password,
        }),
        dataset_name=db.raw_schema,
    )
    progress = FetchProgress() if interactive() else None
    try:
        load_info = pipeline.run(ft42_source(api, settings.api.cursus_id, plan.updated_between, progress),
                                 loader_file_format="parquet")
    except PipelineStepFailed as failure:
        raise SyncFailed(describe_failure(failure, settings.api.root, db)) from None
    finally:
        if progress:
            progress.close()
        if warning := api.cleaned_text_warning():
            log(warning)
        if api.auth.used_next_secret:
            log("Warning: CLIENT_SECRET was rejected and CLIENT_SECRET_NEXT worked: "
                "move CLIENT_SECRET_NEXT into CLIENT_SECRET in .env before the old one is needed again")
    dlt_workdir.forget_loaded_packages(pipelines_dir, PIPELINE_NAME)
    staged = Staged(rows=pipeline.last_trace.last_normalize_info.row_counts.get("users", 0),
                    load_id=load_info.loads_ids[-1] if load_info.loads_ids else None)
    timings = ", ".join(f"{step.step} {(step.finished_at - step.started_at).total_seconds():.1f} s"
                        for step in pipeline.last_trace.steps if step.step in ("extract", "normalize", "load"))
    log(f"Staged {staged.rows} users ({api.adapter.requests_sent} requests; {timings})")
    return staged


def _dbt_failure(outcome: BuildOutcome) -> str:
    for message in outcome.failure_messages:
        if "circuit breaker" in message:
            breaker = message.split("circuit breaker: ", 1)[1].splitlines()[0]
            return (f"circuit breaker: {breaker}; if those users really left, run "
                    "`make sync FULL=1 MAX_REMOVED_SHARE=1` once")
    # Under cron dbt is quiet: this line is all the log says, so it names what failed (but never
    # the rows: a database error's detail quotes them).
    failed = "; ".join(without_row_data(message)[:300] for message in outcome.failure_messages)
    return f"dbt build failed: {failed or 'see its output above'}"


def build_users(conn, db: DbSettings, dbt: PrewarmedDbt, plan: RunPlan, run_id: int, staged: Staged,
                log: RunLog) -> users_changes.UsersChanges:
    """dbt build; `conn` (autocommit) reads users before and after to count what it did."""
    before = users_changes.read_state(conn, db)
    full_load_id = staged.load_id if plan.mode == "full" else ""
    # On a terminal dbt's own lines show each model and test as it runs; under cron, one line.
    quiet = [] if interactive() else ["--quiet"]
    # Unit tests check the models' logic, not this run's data: `make test` runs them.
    outcome = dbt.build([*quiet, "build", "--exclude-resource-type", "unit_test"],
                        {"FT42_FULL_LOAD_ID": full_load_id or "", "FT42_RUN_ID": str(run_id)})
    if not outcome.success:
        raise SyncFailed(_dbt_failure(outcome))
    changes = users_changes.changes_since(conn, db, before)
    log(f"Users: {changes}")
    return changes


def sync(settings: Settings, log: RunLog, guard: RunGuard, report: SyncReport | None = None) -> SyncReport:
    # Arrow's default allocator (mimalloc) keeps the memory of every freed page batch and load
    # file: the sync's peak grew and varied from run to run, for no gain in speed.
    pa.set_memory_pool(pa.system_memory_pool())
    guard.step = "the connection to PostgreSQL"
    db = warehouse.resolve(settings.db)
    report = SyncReport() if report is None else report
    try:
        _sync_into(db, settings, log, guard, report)
        return report
    except (SyncFailed, warehouse.SyncAlreadyRunning):
        raise
    except Exception as error:  # a database that went away, a bug: still one line
        raise SyncFailed(describe_error(error, db)) from error


def _sync_into(db: DbSettings, settings: Settings, log: RunLog, guard: RunGuard, report: SyncReport) -> None:
    if settings.db.host is None:
        log(f"Using the embedded PostgreSQL in {settings.db.embedded_dir} "
            f"(127.0.0.1:{db.port}, database {db.name})")
    # The connection that holds the sync lock also writes the ledger and counts users' changes:
    # while it is open, no other sync writes to this database.
    locked = warehouse.take_sync_lock(db)
    try:
        ledger = Ledger(locked, db)
        plan = plan_run(ledger.last_runs(), settings.sync, datetime.now(timezone.utc))
        log(f"Mode: {plan.mode} ({plan.reason})")
        run_id, counts = ledger.start(plan.mode, plan.cursor_before), RunCounts()
        report.mode, report.run_id = plan.mode, run_id
        guard.on_end(lambda reason: Ledger.record_failure(db, run_id, reason))
        api = connect_api(settings.api.root, settings.api.client_id, settings.api.client_secret,
                          settings.api.client_secret_next)
        dbt = PrewarmedDbt(db, settings.sync)
        guard.on_end(lambda _reason: dbt.kill())  # first: its open transaction must not commit
        try:
            guard.step = "the fetch and load"
            staged = fetch_and_load(settings, db, api, plan, log)
            counts = replace(counts, rows_fetched=staged.rows, load_id=staged.load_id)
            # Before dbt: once the listing reaches users, later runs must find which load it was.
            ledger.record_load(run_id, staged.load_id)
            if new_fields := ledger.record_unmapped_fields(run_id, api.unmapped_fields):
                log(f"Warning: the API sends fields the sync does not store: {', '.join(new_fields)} "
                    "(users); `make status` lists them, and a new column for one is a change to the project")
            guard.step = "the dbt build"
            warehouse.check_lock(locked)
            changes = build_users(locked, db, dbt, plan, run_id, staged, log)
        except Exception as failure:
            counts = report.counts = replace(counts, api_requests=api.adapter.requests_sent)
            with suppress(psycopg2.Error):  # a database that went away cannot take the record
                ledger.finish(run_id, counts, error=describe_error(failure, db))
            raise
        finally:
            dbt.close()
        guard.step = "recording the run"
        counts = replace(counts, api_requests=api.adapter.requests_sent, inserted=changes.inserted,
                         updated=changes.updated, unchanged=changes.unchanged, removed=changes.removed)
        report.counts, report.users_total = counts, changes.total
        # The next window starts where this run started: whatever changed while it ran is
        # fetched again next time rather than missed.
        ledger.finish(run_id, counts, cursor_after=plan.started_at)
        write_fetch_metadata(
            settings.sync.export_dir, datetime.now(timezone.utc), mode=plan.mode,
            requests=counts.api_requests, items=counts.rows_fetched,
            total=changes.total, since=plan.cursor_before,
            until=plan.started_at, downloaded_bytes=api.adapter.bytes_received)
    finally:
        locked.close()
