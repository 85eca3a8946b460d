"""A short health report of the sync: where, each table's rows and last listing, the last runs,
how fresh, the log.

    ft42 status        (or python -m pipelines.status)

Freshness is the age of the last succeeded run: `warn` past FRESHNESS_WARN_HOURS, `STALE`
past FRESHNESS_ERROR_HOURS. It only reads, so it is safe while a sync runs.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import psycopg2
from psycopg2 import sql

from . import warehouse
from .cron import installed_every_hours
from .ft42.declaration import PAGE_SIZE, listings
from .private_files import keep_private
from .settings import ConfigError, load_settings
from .warehouse import table_exists

SUMMARY = "show the database, each table's rows and last listing, last runs, freshness and the run log"
RUNS_SHOWN = 5
LOG_LINES_SHOWN = 3


def span(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def table(header: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  " + "  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                             for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in [header, *rows]]


def log_tail(path: Path, count: int) -> list[str]:
    """The last lines without reading a log that grows for years: only its last 16 kB."""
    try:
        with path.open("rb") as log_file:
            log_file.seek(max(0, path.stat().st_size - 16384))
            return log_file.read().decode("utf-8", "replace").splitlines()[-count:]
    except FileNotFoundError:
        return []


def table_lines(cur, schema: str) -> list[str]:
    """Per declared table: its rows, when its last complete listing started, and how its latest
    planned listing ended (deferred and failed ones say why)."""
    has_ledger = table_exists(cur, schema, "sync_tables")
    rows = []
    for listing in listings():
        count = "-"
        if table_exists(cur, schema, listing.table):
            cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, listing.table)))
            count = str(cur.fetchone()[0])
        listed, age, latest = "never", "-", "-"
        if has_ledger:
            cur.execute(sql.SQL(
                "select to_char(max(started_at) at time zone 'UTC', 'YYYY-MM-DD HH24:MI'), "
                "extract(epoch from now() - max(started_at)) from {} "
                "where table_name = %s and (status = 'succeeded' or published_at is not null)"
            ).format(sql.Identifier(schema, "sync_tables")), (listing.table,))
            when, seconds = cur.fetchone()
            if when:
                listed, age = when, span(seconds)
            cur.execute(sql.SQL("select mode, status, error from {} where table_name = %s "
                                "order by run_id desc limit 1").format(sql.Identifier(schema, "sync_tables")),
                        (listing.table,))
            if last := cur.fetchone():
                latest = f"{last[0]} {last[1]}" + (f": {' '.join(last[2].split())[:60]}" if last[2] else "")
        every = (f"full every {listing.max_age_hours:g} h" if listing.keep_current == "full"
                 else "incremental")
        rows.append([listing.table, count, listed, age, every, latest])
    header = ["table", "rows", "last listed (UTC)", "age", "kept current", "latest listing"]
    return ["tables"] + table(header, rows, numeric={1, 3})


def pass_eta(rows_left: int, requests_per_run: float | None, every_hours: int | None) -> str:
    """How long a pass has left: runs at this table's recent pace, and time at the cron period."""
    if not requests_per_run:
        return "ETA unknown until a run has spent budget on it"
    runs = math.ceil((rows_left // PAGE_SIZE + 1) / requests_per_run)
    if every_hours is None:
        return f"about {runs} more runs (no cron line installed)"
    return f"about {runs} more runs, {span(runs * every_hours * 3600)} at a run every {every_hours} h"


def pass_lines(cur, schema: str, every_hours: int | None) -> list[str]:
    """Per big table: the pass under way (rows so far, % of what it began with, requests and time
    left), or, once complete, that it is current and since when."""
    if not table_exists(cur, schema, "sync_passes"):
        return []
    lines = []
    for listing in listings():
        if listing.keep_current != "backfill":
            continue
        cur.execute(sql.SQL("select kind, to_char(started_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'), rows_seen, "
                            "listed_total from {} where table_name = %s and completed_at is null "
                            "order by pass_id desc limit 1").format(sql.Identifier(schema, "sync_passes")),
                    (listing.table,))
        active = cur.fetchone()
        cur.execute(sql.SQL("select to_char(max(completed_at) at time zone 'UTC', 'YYYY-MM-DD HH24:MI') from {} "
                            "where table_name = %s").format(sql.Identifier(schema, "sync_passes")), (listing.table,))
        completed = cur.fetchone()[0]
        # Requests the table took in its last runs: the pace a pass moves at.
        cur.execute(sql.SQL("select avg(api_requests) from (select api_requests from {} where table_name = %s "
                            "and api_requests > 0 order by run_id desc limit 3) recent")
                    .format(sql.Identifier(schema, "sync_tables")), (listing.table,))
        pace = cur.fetchone()[0]
        state = f"current (last complete pass {completed} UTC)" if completed else "backfilling"
        if active:
            kind, since, seen, total = active
            total = max(total or 0, seen)
            share = f"{100 * seen / total:.1f} %" if total else "-"
            state += (f"; {kind} pass since {since} UTC: {seen} of {total} rows ({share}), "
                      f"{(total - seen) // PAGE_SIZE + 1} requests left, "
                      f"{pass_eta(total - seen, float(pace) if pace else None, every_hours)}")
        lines.append(f"  {listing.table}: {state}")
    return ["passes"] + lines if lines else []


def report(cur, schema: str, warn_hours: float, error_hours: float) -> list[str]:
    lines = table_lines(cur, schema) + pass_lines(cur, schema, installed_every_hours())
    if not table_exists(cur, schema, "sync_runs"):
        return lines + ["sync runs  no sync has run yet"]
    runs = sql.Identifier(schema, "sync_runs")
    # Ages come from the server's clock, the one that stamped the runs.
    cur.execute(sql.SQL("select to_char(started_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'), mode, status, "
                        "extract(epoch from finished_at - started_at), api_requests, rows_fetched, inserted, "
                        "updated, unchanged, removed, error from {} order by run_id desc limit %s").format(runs),
                (RUNS_SHOWN,))
    rows = [[row[0], row[1], row[2], "-" if row[3] is None else span(row[3])]
            + ["-" if n is None else str(n) for n in row[4:10]]
            + [" ".join((row[10] or "").split())[:60]] for row in cur.fetchall()]
    if not rows:
        return lines + ["sync runs  no sync has run yet"]
    cur.execute(sql.SQL("select extract(epoch from now() - coalesce(finished_at, started_at)), "
                        "to_char(coalesce(finished_at, started_at) at time zone 'UTC', 'YYYY-MM-DD HH24:MI') "
                        "from {} where status = 'succeeded' order by run_id desc limit 1").format(runs))
    last = cur.fetchone()
    if last is None:
        lines.append("freshness  no succeeded run yet: STALE")
    else:
        hours = last[0] / 3600
        level = "STALE" if hours > error_hours else "warn" if hours > warn_hours else "ok"
        lines.append(f"freshness  last succeeded run finished {span(last[0])} ago ({last[1]} UTC): {level}")
    cur.execute(sql.SQL("select unmapped_fields from {} where unmapped_fields is not null "
                        "order by run_id desc limit 1").format(runs))
    unmapped = (cur.fetchone() or [None])[0]
    if unmapped:
        lines.append(f"API fields not stored (seen by the last run): {', '.join(unmapped)}")
    header = ["started (UTC)", "mode", "status", "duration", "requests", "fetched",
              "ins", "upd", "unch", "rem", "error"]
    return lines + [f"last {len(rows)} runs"] + table(header, rows, numeric=set(range(3, 10)))


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Show the database, the user count, the last runs, freshness and the end of the run "
                          "log. Reads only; starts the embedded PostgreSQL if that is the configured one.")


def run(_args: argparse.Namespace) -> int:
    keep_private()
    try:
        settings = load_settings()
        db = warehouse.resolve(settings.db)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"database   {db.host}:{db.port}/{db.name} (schema {db.users_schema})")
    conn = warehouse.connect(db)
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            print("\n".join(report(cur, db.users_schema, settings.sync.freshness_warn_hours,
                                   settings.sync.freshness_error_hours)))
    except psycopg2.Error as error:
        print(f"error: reading the ledger failed: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    tail = log_tail(settings.log_file, LOG_LINES_SHOWN)
    print(f"run log    {settings.log_file}" + ("" if tail else " (empty)"))
    for line in tail:
        print(f"  {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.status")
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
