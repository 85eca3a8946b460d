"""The run ledger, `sync_runs`: one row per sync, kept in the warehouse beside the data.

The incremental cursor lives here rather than on the machine that runs the sync: pointed at a
fresh or restored database, the sync finds no succeeded run and starts with a full listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg2 import sql

from .settings import DbSettings

COLUMNS = sql.SQL("""
    run_id        bigserial primary key,
    mode          text not null,
    started_at    timestamptz not null default now(),
    finished_at   timestamptz,
    status        text not null default 'running',
    api_requests  integer,
    rows_fetched  integer,
    inserted      integer,
    updated       integer,
    unchanged     integer,
    removed       integer,
    cursor_before timestamptz,
    cursor_after  timestamptz,
    load_id       text,
    error         text
""")


@dataclass(frozen=True)
class LastRuns:
    cursor: datetime | None  # where the next incremental window starts
    last_full_at: datetime | None  # when the last succeeded full listing started


@dataclass
class RunCounts:
    api_requests: int | None = None
    rows_fetched: int | None = None
    inserted: int | None = None
    updated: int | None = None
    unchanged: int | None = None
    removed: int | None = None
    load_id: str | None = None


class Ledger:
    """Writes go through their own autocommit connection, so they survive a failed step."""

    def __init__(self, conn, db: DbSettings) -> None:
        self.conn = conn
        self.conn.autocommit = True
        self.table = sql.Identifier(db.users_schema, "sync_runs")
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(db.users_schema)))
            cur.execute(sql.SQL("create table if not exists {} ({})").format(self.table, COLUMNS))
            # Only the lock holder runs; a run still marked running was killed.
            cur.execute(sql.SQL("update {} set status = 'interrupted' where status = 'running'").format(self.table))

    def last_runs(self) -> LastRuns:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("select max(cursor_after), max(started_at) filter (where mode = 'full') "
                                "from {} where status = 'succeeded'").format(self.table))
            return LastRuns(*cur.fetchone())

    def start(self, mode: str, cursor_before: datetime | None) -> int:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("insert into {} (mode, cursor_before) values (%s, %s) returning run_id")
                        .format(self.table), (mode, cursor_before))
            return cur.fetchone()[0]

    def finish(self, run_id: int, counts: RunCounts, *, cursor_after: datetime | None = None,
               error: str | None = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL("update {} set finished_at = now(), status = %s, cursor_after = %s, error = %s, "
                        "api_requests = %s, rows_fetched = %s, inserted = %s, updated = %s, unchanged = %s, "
                        "removed = %s, load_id = %s where run_id = %s").format(self.table),
                ("failed" if error else "succeeded", cursor_after, error, counts.api_requests,
                 counts.rows_fetched, counts.inserted, counts.updated, counts.unchanged, counts.removed,
                 counts.load_id, run_id))
