"""One sync: plan each table (due? full or incremental? does it fit the hourly budget?), fetch
and load each due table with dlt, one dbt build for the tables whose listing completed, record
each table's outcome.

Each table is atomic on its own: a table whose listing fails keeps its previous contents, the
others are published, and the run fails with one line naming the tables that did not make it.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Literal

import psycopg2
import pyarrow as pa

from . import users_changes, warehouse
from .dbt_build import STAGING_PREFIX, BuildOutcome, PrewarmedDbt
from .failures import SyncFailed, describe_error, describe_step_failure, without_row_data
from .ft42 import Ft42Api, connect_api, listing_size
from .ft42.declaration import Listing, listings
from .ledger import Ledger, RunCounts
from .legacy_files import write_fetch_metadata
from .loader import Loader, Staged
from .passes import fetch_big_table
from .progress import interactive
from .run_guard import RunGuard
from .run_log import RunLog
from .settings import DbSettings, Settings
from .table_plan import TablePlan, fit_budget, plan_table


@dataclass(frozen=True)
class TableOutcome:
    mode: Literal["full", "incremental", "backfill"] | None  # None: not due
    status: Literal["succeeded", "failed", "deferred", "not due"]
    error: str | None = None  # why it failed or waits
    rows_fetched: int | None = None
    requests: int | None = None


@dataclass
class SyncReport:
    """What a run got to, filled in as it goes: still readable when the run failed part-way."""

    mode: Literal["full", "incremental"] | None = None  # users' listing
    run_id: int | None = None  # its row in sync_runs
    counts: RunCounts = field(default_factory=RunCounts)
    users_total: int | None = None  # rows in users after the run
    tables: dict[str, TableOutcome] = field(default_factory=dict)


def selected_listings(names: tuple[str, ...] | None) -> list[Listing]:
    """The listings a run considers: those named (TABLES), else every declared one."""
    declared = listings()
    if not names:
        return declared
    known = {listing.table for listing in declared}
    if unknown := [name for name in names if name not in known]:
        raise SyncFailed(f"TABLES names {', '.join(unknown)}, which no model declares a listing for; "
                         f"the tables are {', '.join(sorted(known))}")
    return [listing for listing in declared if listing.table in names]


def plan_tables(settings: Settings, history, pass_state, now: datetime) -> list[TablePlan]:
    """Each selected table's plan: due or not, full, incremental or backfill (from its `history`
    and, for a big table, its `pass_state`). A table whose models need another's rows waits
    until that one has been listed, or is listed in this run."""
    plans = [plan_table(listing, history(listing.table), settings.sync, now,
                        pass_state(listing.table) if listing.keep_current == "backfill" else None)
             for listing in selected_listings(settings.sync.tables)]
    listed_now = {plan.table for plan in plans if plan.mode is not None}
    for index, plan in enumerate(plans):
        missing = [table for table in plan.listing.needs
                   if table not in listed_now and history(table).last_full_at is None]
        if plan.mode is not None and missing:
            plans[index] = replace(plan, deferred=f"its models need {', '.join(missing)}, never listed here: "
                                                  f"add it to TABLES")
    return plans


def run_mode(plans: list[TablePlan]) -> str:
    """The run's mode in the ledger: full when it lists any table in full."""
    modes = {plan.mode for plan in plans if plan.mode}
    return "full" if "full" in modes else "incremental" if modes else "none"


def size_plans(settings: Settings, api: Ft42Api, plans: list[TablePlan]) -> list[TablePlan]:
    """Each due table's size (one request each, and one for what a big table's pass has left),
    then which fit the hourly budget left."""
    plans = list(plans)
    budget_left = None
    for index, plan in enumerate(plans):
        if not plan.runs:
            continue
        try:
            if plan.mode in ("full", "incremental"):
                size = listing_size(api, plan.listing, settings.api.cursus_id, plan.updated_between)
                plan = plans[index] = replace(plan, total=size.total)
                budget_left = size.budget_left
            if plan.pass_ is not None:
                size = listing_size(api, plan.listing, settings.api.cursus_id, after_id=plan.pass_.after_id)
                plans[index] = replace(plan, pass_=replace(plan.pass_, remaining=size.total))
                budget_left = size.budget_left
        except Exception as failure:  # this table only: the others may still be planned
            plans[index] = replace(plan, error=describe_step_failure(
                "planning", failure, settings.api.root, settings.db, "the table was not changed"))
    return fit_budget(plans, budget_left)


def _dbt_failure(table: str, outcome: BuildOutcome) -> str:
    messages = outcome.failures_of(table) or outcome.failure_messages
    for message in messages:
        if "circuit breaker" in message:
            breaker = message.split("circuit breaker: ", 1)[1].splitlines()[0]
            return (f"circuit breaker: {breaker}; if those rows really left, run "
                    f"`make sync TABLES={table} FULL=1 MAX_REMOVED_SHARE=1` once")
    # Under cron dbt is quiet: this line is all the log says, so it names what failed (but never
    # the rows: a database error's detail quotes them).
    failed = "; ".join(without_row_data(message)[:300] for message in messages)
    return f"dbt build failed: {failed or 'see its output above'}"


def build_tables(dbt: PrewarmedDbt, loaded: list[str], run_id: int) -> BuildOutcome:
    """One dbt build of the loaded tables' models, tests and snapshots."""
    # On a terminal dbt's own lines show each model and test as it runs; under cron, one line.
    quiet = [] if interactive() else ["--quiet"]
    selection = [f"{STAGING_PREFIX}{table}+" for table in loaded]
    # Unit tests check the models' logic, not this run's data: `make test` runs them.
    return dbt.build([*quiet, "build", "--exclude-resource-type", "unit_test", "--select", *selection],
                     {"FT42_RUN_ID": str(run_id)})


def failure_line(failed: dict[str, str]) -> str:
    """One line for the tables that failed, those failing for one reason named together."""
    tables_by_reason: dict[str, list[str]] = {}
    for table, reason in failed.items():
        tables_by_reason.setdefault(reason, []).append(table)
    return "; ".join(f"{', '.join(tables)}: {reason}" for reason, tables in tables_by_reason.items())


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
        now = datetime.now(timezone.utc)
        api = connect_api(settings.api.root, settings.api.client_id, settings.api.client_secret,
                          settings.api.client_secret_next)
        plans = plan_tables(settings, ledger.last_runs, ledger.pass_state, now)
        users_plan = next((plan for plan in plans if plan.table == "users"), None)
        run_id = ledger.start(run_mode(plans), users_plan.cursor_before if users_plan else None)
        report.run_id, report.mode = run_id, users_plan.mode if users_plan else None
        guard.on_end(lambda reason: Ledger.record_failure(db, run_id, reason))
        dbt = PrewarmedDbt(db, settings)
        guard.on_end(lambda _reason: dbt.kill())  # first: its open transaction must not commit
        try:
            guard.step = "planning"
            plans = size_plans(settings, api, plans)
            failed = _record_plans(ledger, run_id, plans, report, log)
            failed |= _fetch_and_build(settings, db, api, dbt, ledger, locked, run_id, plans, report, log, guard)
        except Exception as failure:
            report.counts = replace(report.counts, api_requests=api.adapter.requests_sent)
            with suppress(psycopg2.Error):  # a database that went away cannot take the record
                ledger.finish(run_id, report.counts, error=describe_error(failure, db))
            raise
        finally:
            dbt.close()
        guard.step = "recording the run"
        report.counts = replace(report.counts, api_requests=api.adapter.requests_sent)
        error = failure_line(failed) if failed else None
        ledger.finish(run_id, report.counts, cursor_after=now if not failed else None, error=error)
        if error:
            raise SyncFailed(error)
    finally:
        locked.close()


def _record_plans(ledger: Ledger, run_id: int, plans: list[TablePlan], report: SyncReport,
                  log: RunLog) -> dict[str, str]:
    """Log and record each table's plan; return the tables that could not be planned, and why."""
    failed = {}
    for plan in plans:
        log(f"Plan {plan.line()}")
        if plan.mode is None:
            report.tables[plan.table] = TableOutcome(None, "not due")
            continue
        planned, listed = plan.requests, plan.total
        if plan.pass_:  # a big table: its window (if any) and its share of the pass, which has `remaining` left
            planned = (planned or 0) + plan.pass_.requests
            listed = listed if listed is not None else plan.pass_.remaining
        ledger.plan_table(run_id, plan.table, plan.mode, cursor_before=plan.cursor_before,
                          listed_total=listed, planned_requests=planned, deferred=plan.deferred)
        if plan.deferred:
            report.tables[plan.table] = TableOutcome(plan.mode, "deferred", plan.deferred)
        if plan.error:
            failed[plan.table] = plan.error
            ledger.finish_table(run_id, plan.table, error=plan.error)
            report.tables[plan.table] = TableOutcome(plan.mode, "failed", plan.error)
    return failed


def _fetch_and_build(settings: Settings, db: DbSettings, api: Ft42Api, dbt: PrewarmedDbt, ledger: Ledger, locked,
                     run_id: int, plans: list[TablePlan], report: SyncReport, log: RunLog,
                     guard: RunGuard) -> dict[str, str]:
    """Fetch, load and build each planned table; return the failed ones' reasons."""
    failed: dict[str, str] = {}
    loaded: dict[str, Staged] = {}
    requests: dict[str, int] = {}
    running = [plan for plan in plans if plan.runs]
    plan_of = {plan.table: plan for plan in running}
    loader = Loader(settings, db, log) if running else None
    try:
        for plan in running:
            guard.step = f"the fetch and load of {plan.table}"
            requests_before = api.adapter.requests_sent
            try:
                if plan.listing.keep_current == "backfill":
                    staged = fetch_big_table(loader, ledger, api, plan, log)
                else:
                    staged = loader.load(api, plan.listing, plan.updated_between)
            except Exception as failure:  # this table only: the others still go ahead
                failed[plan.table] = describe_error(failure, db)
                staged = None
            requests[plan.table] = api.adapter.requests_sent - requests_before
            if staged is None:
                continue
            # Before dbt: once the listing reaches its table, later runs must find which load it was.
            ledger.record_table_load(run_id, plan.table, load_id=staged.load_id, rows_fetched=staged.rows,
                                     api_requests=staged.requests)
            loaded[plan.table] = staged
    finally:
        if warning := api.cleaned_text_warning():
            log(warning)
        if api.auth.used_next_secret:
            log("Warning: CLIENT_SECRET was rejected and CLIENT_SECRET_NEXT worked: "
                "move CLIENT_SECRET_NEXT into CLIENT_SECRET in .env before the old one is needed again")
    unmapped = {f"{name} ({table})" for table, names in api.unmapped_fields.items() for name in sorted(names)}
    if new_fields := ledger.record_unmapped_fields(run_id, unmapped):
        log(f"Warning: the API sends fields the sync does not store: {', '.join(new_fields)}; "
            "`make status` lists them, and a new column for one is a change to the project")
    report.counts = replace(report.counts, rows_fetched=sum(staged.rows for staged in loaded.values()),
                            load_id=loaded["users"].load_id if "users" in loaded else None)
    if loaded:
        guard.step = "the dbt build"
        warehouse.check_lock(locked)
        before = users_changes.read_state(locked, db) if "users" in loaded else None
        outcome = build_tables(dbt, list(loaded), run_id)
        for table in loaded:
            if outcome.node_status.get(table) != "success" or outcome.failures_of(table):
                failed[table] = _dbt_failure(table, outcome)
        if not outcome.success and not failed.keys() & loaded.keys():
            failed["dbt"] = _dbt_failure("dbt", outcome)  # a failure no table owns still fails the run
        if before is not None and "users" not in failed:
            changes = users_changes.changes_since(locked, db, before)
            log(f"Users: {changes}")
            report.users_total = changes.total
            report.counts = replace(report.counts, inserted=changes.inserted, updated=changes.updated,
                                    unchanged=changes.unchanged, removed=changes.removed)
            write_fetch_metadata(
                settings.sync.export_dir, datetime.now(timezone.utc), mode=report.mode,
                requests=api.adapter.requests_sent, items=loaded["users"].rows, total=changes.total,
                since=plan_of["users"].cursor_before, until=plan_of["users"].started_at,
                downloaded_bytes=api.adapter.bytes_received)
    for table in [plan.table for plan in running]:
        staged = loaded.get(table)
        error = failed.get(table)
        # The table's next incremental window starts where this run started: whatever changed
        # while it ran is fetched again next time rather than missed. A backfill has no window:
        # the first starts where its pass began.
        cursor_after = None if error or plan_of[table].mode == "backfill" else plan_of[table].started_at
        ledger.finish_table(run_id, table, error=error, cursor_after=cursor_after,
                            api_requests=requests[table])
        report.tables[table] = TableOutcome(plan_of[table].mode, "failed" if error else "succeeded", error,
                                            staged.rows if staged else None, requests[table])
    return failed
