"""The run ledger, kept in the warehouse beside the data: `sync_runs`, one row per sync, and
`sync_tables`, one row per table a sync planned: its mode, requests, outcome and load.

Each table's incremental cursor and last full listing live here rather than on the machine that
runs the sync: pointed at a fresh or restored database, the sync finds no succeeded listing and
starts each table with a full one. The models read the reference listing of each table from
`sync_tables` (a table's status is `loaded` once its complete listing is in the raw schema,
before dbt runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg2 import sql

from .settings import DbSettings
from .warehouse import connect, table_exists

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
    error         text,
    published_at  timestamptz,
    unmapped_fields text[]
""")
# Columns added since the first version, for ledgers created by it.
ADDED_COLUMNS = {"published_at": "timestamptz", "unmapped_fields": "text[]"}
TABLE_COLUMNS = sql.SQL("""
    run_id           bigint not null,
    table_name       text not null,
    mode             text not null,
    status           text not null,
    planned_requests integer,
    api_requests     integer,
    listed_total     integer,
    rows_fetched     integer,
    cursor_before    timestamptz,
    cursor_after     timestamptz,
    load_id          text,
    error            text,
    started_at       timestamptz not null default now(),
    finished_at      timestamptz,
    published_at     timestamptz,
    basis            text,
    primary key (run_id, table_name)
""")
PASS_COLUMNS = sql.SQL("""
    pass_id       bigserial primary key,
    table_name    text not null,
    kind          text not null,
    started_at    timestamptz not null default now(),
    first_load_id text,
    position      bigint not null default 0,
    rows_seen     bigint not null default 0,
    listed_total  integer,
    completed_at  timestamptz
""")
# Before sync_tables, sync_runs held users' listings: carried over once, they stay its history.
_USERS_FROM_SYNC_RUNS = sql.SQL("""
    insert into {tables} (run_id, table_name, mode, status, api_requests, rows_fetched, cursor_before,
                          cursor_after, load_id, error, started_at, finished_at, published_at)
    select run_id, 'users', mode, status, api_requests, rows_fetched, cursor_before, cursor_after, load_id,
           error, started_at, finished_at, published_at
    from {runs}
""")


@dataclass(frozen=True)
class LastRuns:
    cursor: datetime | None  # where the next incremental window starts
    last_full_at: datetime | None  # when the last succeeded full listing started


@dataclass(frozen=True)
class ListingPass:
    """A listing of a big table by keyset on id, in chunks over as many runs as the budget needs."""

    pass_id: int
    kind: str  # backfill (the table's first) or reconcile (a later one, which finds deletions)
    started_at: datetime
    position: int  # the last id of the last committed chunk: the next chunk starts after it
    rows_seen: int
    listed_total: int | None  # X-Total when it began


@dataclass(frozen=True)
class PassState:
    active: ListingPass | None  # the pass under way, if any
    # When the newest complete pass began (None: no pass has listed the whole table yet): the
    # first window of changes starts there.
    completed_started_at: datetime | None

    @property
    def completed(self) -> bool:
        return self.completed_started_at is not None


@dataclass(frozen=True)
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
        self.table = self.table_of(db)
        self.tables = self.tables_of(db)
        self.passes = self.passes_of(db)
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(db.users_schema)))
            cur.execute(sql.SQL("create table if not exists {} ({})").format(self.table, COLUMNS))
            for column, data_type in ADDED_COLUMNS.items():
                cur.execute(sql.SQL("alter table {} add column if not exists {} {}").format(
                    self.table, sql.Identifier(column), sql.SQL(data_type)))
            if not table_exists(cur, db.users_schema, "sync_tables"):
                cur.execute(sql.SQL("create table {} ({})").format(self.tables, TABLE_COLUMNS))
                cur.execute(_USERS_FROM_SYNC_RUNS.format(tables=self.tables, runs=self.table))
            # Added since sync_tables' first version, for ledgers created by it.
            cur.execute(sql.SQL("alter table {} add column if not exists basis text").format(self.tables))
            cur.execute(sql.SQL("create table if not exists {} ({})").format(self.passes, PASS_COLUMNS))
            # Only the lock holder runs; a run or listing still unfinished was killed.
            cur.execute(sql.SQL("update {} set status = 'interrupted' where status = 'running'").format(self.table))
            cur.execute(sql.SQL("update {} set status = 'interrupted', finished_at = now() "
                                "where status in ('planned', 'loaded')").format(self.tables))

    @staticmethod
    def table_of(db: DbSettings) -> sql.Identifier:
        return sql.Identifier(db.users_schema, "sync_runs")

    @staticmethod
    def tables_of(db: DbSettings) -> sql.Identifier:
        return sql.Identifier(db.users_schema, "sync_tables")

    @staticmethod
    def passes_of(db: DbSettings) -> sql.Identifier:
        return sql.Identifier(db.users_schema, "sync_passes")

    def pass_state(self, table: str) -> PassState:
        with self.conn.cursor() as cur:
            return read_pass_state(cur, self.passes, table)

    def start_pass(self, table: str, kind: str, listed_total: int | None) -> ListingPass:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("insert into {} (table_name, kind, listed_total) values (%s, %s, %s) "
                                "returning pass_id, started_at").format(self.passes), (table, kind, listed_total))
            pass_id, started_at = cur.fetchone()
        return ListingPass(pass_id, kind, started_at, 0, 0, listed_total)

    def advance_pass(self, pass_id: int, *, position: int, rows: int, load_id: str | None,
                     completed: bool) -> None:
        """A chunk is committed in the raw table: the pass resumes after it from now on."""
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("update {} set position = %s, rows_seen = rows_seen + %s, "
                                "first_load_id = coalesce(first_load_id, %s), "
                                "completed_at = case when %s then now() end where pass_id = %s")
                        .format(self.passes), (position, rows, load_id, completed, pass_id))

    def last_runs(self, table: str) -> LastRuns:
        with self.conn.cursor() as cur:
            return read_last_runs(cur, self.tables, table)

    def plan_table(self, run_id: int, table: str, mode: str, *, cursor_before: datetime | None,
                   listed_total: int | None, planned_requests: int | None, deferred: str | None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("insert into {} (run_id, table_name, mode, status, cursor_before, listed_total, "
                                "planned_requests, error) values (%s, %s, %s, %s, %s, %s, %s, %s)")
                        .format(self.tables),
                        (run_id, table, mode, "deferred" if deferred else "planned", cursor_before, listed_total,
                         planned_requests, deferred))

    def record_table_load(self, run_id: int, table: str, *, load_id: str | None, rows_fetched: int,
                          api_requests: int) -> None:
        """The table's listing is complete and in the raw schema: the models may take it as the
        table's reference listing from now on."""
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("update {} set status = 'loaded', load_id = %s, rows_fetched = %s, api_requests = %s "
                                "where run_id = %s and table_name = %s").format(self.tables),
                        (load_id, rows_fetched, api_requests, run_id, table))

    def finish_table(self, run_id: int, table: str, *, error: str | None = None,
                     cursor_after: datetime | None = None, api_requests: int | None = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("update {} set status = %s, error = %s, cursor_after = %s, finished_at = now(), "
                                "api_requests = coalesce(%s, api_requests) where run_id = %s and table_name = %s")
                        .format(self.tables),
                        ("failed" if error else "succeeded", error, cursor_after, api_requests, run_id, table))

    def start(self, mode: str, cursor_before: datetime | None) -> int:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("insert into {} (mode, cursor_before) values (%s, %s) returning run_id")
                        .format(self.table), (mode, cursor_before))
            return cur.fetchone()[0]

    def record_load(self, run_id: int, load_id: str | None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("update {} set load_id = %s where run_id = %s").format(self.table), (load_id, run_id))

    def record_unmapped_fields(self, run_id: int, fields: set[str]) -> list[str]:
        """Record the API fields this run saw and no column holds; return those no run saw before."""
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("select distinct unnest(unmapped_fields) from {} where run_id <> %s")
                        .format(self.table), (run_id,))
            seen = {field for (field,) in cur.fetchall()}
            cur.execute(sql.SQL("update {} set unmapped_fields = %s where run_id = %s").format(self.table),
                        (sorted(fields), run_id))
        return sorted(fields - seen)

    @staticmethod
    def record_failure(db: DbSettings, run_id: int, error: str) -> None:
        """Mark a run failed from a connection of its own: the run's may be busy or gone."""
        conn = connect(db)
        try:
            with conn, conn.cursor() as cur:
                # The run's own transaction may hold the row a moment longer: wait a little, not forever.
                cur.execute("set local lock_timeout = '5s'")
                cur.execute(sql.SQL("update {} set finished_at = now(), status = 'failed', error = %s "
                                    "where run_id = %s and status = 'running'").format(Ledger.table_of(db)),
                            (error, run_id))
        finally:
            conn.close()

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


def read_pass_state(cur, passes: sql.Identifier, table: str) -> PassState:
    cur.execute(sql.SQL("select pass_id, kind, started_at, position, rows_seen, listed_total from {} "
                        "where table_name = %s and completed_at is null order by pass_id desc limit 1")
                .format(passes), (table,))
    active = cur.fetchone()
    cur.execute(sql.SQL("select max(started_at) from {} where table_name = %s and completed_at is not null")
                .format(passes), (table,))
    return PassState(ListingPass(*active) if active else None, cur.fetchone()[0])


def read_last_runs(cur, tables: sql.Identifier, table: str) -> LastRuns:
    """One table's history. Also for readers that must not create or touch the ledger (`ft42 plan`).
    A full listing that reached its table counts even if its run failed after (in the snapshot,
    say): the table holds what it listed."""
    cur.execute(sql.SQL("select max(cursor_after) filter (where status = 'succeeded'), "
                        "max(started_at) filter (where mode = 'full' and (status = 'succeeded' or published_at "
                        "is not null)) from {} where table_name = %s").format(tables), (table,))
    return LastRuns(*cur.fetchone())
