"""`ft42 plan`: what a sync would do now, without doing any of it.

Each table's plan (due or not, full or incremental, the window) comes from the run ledger
exactly as the sync makes it (`plan_tables`); the ledger is only read, never created. With
credentials set, one request per due table for a one-record page gives its size (`X-Total`) and
the hourly budget left, and the budget is shared out as the sync would (`size_plans`). Like
`ft42 status`, it starts the embedded PostgreSQL when that is the configured warehouse.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime, timezone

import requests
from psycopg2 import sql

from . import warehouse
from .ft42 import connect_api
from .ft42.declaration import listings
from .ledger import LastRuns, Ledger, PassState, read_last_runs, read_pass_state
from .settings import Settings, load_settings
from .sync import plan_tables, size_plans


def ledger_history(settings: Settings):
    """Each table's LastRuns and each big table's PassState, read once from the ledger (empty
    when there is none yet)."""
    db = warehouse.resolve(settings.db)
    conn = warehouse.connect(db)
    history: dict[str, LastRuns] = {}
    passes: dict[str, PassState] = {}
    try:
        conn.set_session(readonly=True)
        with conn, conn.cursor() as cur:
            if warehouse.table_exists(cur, db.users_schema, "sync_tables"):
                cur.execute(sql.SQL("select distinct table_name from {}").format(Ledger.tables_of(db)))
                for (table,) in cur.fetchall():
                    history[table] = read_last_runs(cur, Ledger.tables_of(db), table)
            if warehouse.table_exists(cur, db.users_schema, "sync_passes"):
                for listing in listings():
                    passes[listing.table] = read_pass_state(cur, Ledger.passes_of(db), listing.table)
            elif warehouse.table_exists(cur, db.users_schema, "sync_runs"):
                # A ledger from before sync_tables: its runs were users' (the next sync carries them over).
                cur.execute(sql.SQL("select max(cursor_after), max(started_at) filter (where mode = 'full') "
                                    "from {} where status = 'succeeded'").format(Ledger.table_of(db)))
                history["users"] = LastRuns(*cur.fetchone())
    finally:
        conn.close()
    return (lambda table: history.get(table, LastRuns(cursor=None, last_full_at=None)),
            lambda table: passes.get(table, PassState(None, None)))


def print_plan(full: bool | None = None, tables: list[str] | None = None) -> int:
    settings = load_settings()
    if full is not None:
        settings = replace(settings, sync=replace(settings.sync, force_full=full))
    if tables:
        settings = replace(settings, sync=replace(settings.sync, tables=tuple(tables)))
    plans = plan_tables(settings, *ledger_history(settings), datetime.now(timezone.utc))
    if settings.api.client_id and settings.api.client_secret:
        api = connect_api(settings.api.root, settings.api.client_id, settings.api.client_secret,
                          settings.api.client_secret_next)
        try:
            plans = size_plans(settings, api, plans)
        except requests.RequestException as error:
            reply = error.response
            what = f"answered {reply.status_code} {reply.reason}" if reply is not None else type(error).__name__
            print(f"error: asking the API for the listings' sizes failed: {what}; check API_ROOT and the "
                  "credentials", file=sys.stderr)
            return 1
    else:
        print("sizes unknown: CLIENT_ID / CLIENT_SECRET not set, so the API was not asked")
    for plan in plans:
        print(plan.line())
    planned = [(plan.requests or 0) + (plan.pass_.requests if plan.pass_ else 0) for plan in plans
               if plan.runs and (plan.requests is not None or plan.pass_)]
    if planned:
        print(f"requests: {sum(planned)} planned for {len(planned)} tables")
    return 0
