"""Sync the 42 cursus students into PostgreSQL: dlt fetch + load into the raw schema, then dbt build.

    python -m pipelines.ft42_pipeline            # the sync (what `make sync` runs)
    python -m pipelines.ft42_pipeline dbt test   # any dbt command against the configured warehouse

Exit code 0 only when the fetch, the load, the models and their tests all succeeded.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .settings import DATA_DIR, DBT_PROJECT_DIR, LOG_FILE, PROJECT_ROOT, ConfigError, DbSettings

# dlt reads .dlt/config.toml from its project dir and keeps its working state in its data dir;
# pin both to the checkout so cron's working directory does not matter.
os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_ROOT))
os.environ.setdefault("DLT_DATA_DIR", str(DATA_DIR / "dlt"))

import dlt  # noqa: E402
from dlt.pipeline.exceptions import PipelineStepFailed  # noqa: E402

from . import warehouse  # noqa: E402
from .failures import describe_failure  # noqa: E402
from .ft42 import connect_api, ft42_source  # noqa: E402
from .run_log import RunLog  # noqa: E402
from .settings import load_settings, require_api_credentials  # noqa: E402


EXIT_ALREADY_RUNNING = 75  # EX_TEMPFAIL: cron may simply try again next time


class SyncFailed(Exception):
    """A step failed; the message is the one line the user sees."""


@dataclass(frozen=True)
class UsersState:
    ids: frozenset[int]
    last_ingested_at: object  # a datetime, or None for an empty or missing table


def read_users_state(db: DbSettings) -> UsersState:
    table = f'"{db.users_schema}"."users"'
    with warehouse.connect(db) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass(%s)", (table,))
        if cur.fetchone()[0] is None:
            return UsersState(frozenset(), None)
        cur.execute(f"select id from {table}")
        ids = frozenset(row[0] for row in cur)
        cur.execute(f"select max(ingested_at) from {table}")
        return UsersState(ids, cur.fetchone()[0])


def count_written_since(db: DbSettings, since: object) -> int:
    table = f'"{db.users_schema}"."users"'
    with warehouse.connect(db) as conn, conn.cursor() as cur:
        if since is None:
            cur.execute(f"select count(*) from {table}")
        else:
            cur.execute(f"select count(*) from {table} where ingested_at > %s", (since,))
        return cur.fetchone()[0]


def fetch_and_load(settings, db: DbSettings, log: RunLog) -> int:
    """Fetch the complete listing and merge it into the raw schema; return the users fetched."""
    pipeline = dlt.pipeline(
        pipeline_name="ft42_users",
        destination=dlt.destinations.postgres(credentials={
            "host": db.host, "port": db.port, "database": db.name,
            "username": db.user, "password": db.password,
        }),
        dataset_name=db.raw_schema,
    )
    api = connect_api(settings.api.root, settings.api.client_id, settings.api.client_secret,
                      settings.api.client_secret_next)
    try:
        if pipeline.has_pending_data:
            # A run killed after its fetch left a complete package; dlt's run() would load only
            # that and stop, so finish it first, then fetch afresh.
            log("Loading the complete fetch an interrupted run left behind")
            pipeline.run()
        pipeline.run(ft42_source(api, settings.api.cursus_id))
    except PipelineStepFailed as failure:
        raise SyncFailed(describe_failure(failure, settings.api.root)) from None
    finally:
        if api.auth.used_next_secret:
            log("Warning: CLIENT_SECRET was rejected and CLIENT_SECRET_NEXT worked: "
                "move CLIENT_SECRET_NEXT into CLIENT_SECRET in .env before the old one is needed again")
    return pipeline.last_trace.last_normalize_info.row_counts.get("users", 0)


def run_dbt(db: DbSettings, args: list[str]) -> bool:
    from dbt.cli.main import dbtRunner

    os.environ.update(warehouse.dbt_environment(db))
    result = dbtRunner().invoke([
        *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
    ])
    return result.success


def sync(log: RunLog) -> None:
    settings = load_settings()
    require_api_credentials(settings.api)
    db = warehouse.resolve(settings.db)
    if settings.db.host is None:
        log(f"Using the embedded PostgreSQL in {settings.db.embedded_dir} "
            f"(127.0.0.1:{db.port}, database {db.name})")

    lock = warehouse.take_sync_lock(db)
    try:
        staged = fetch_and_load(settings, db, log)
        log(f"Staged {staged} users")
        build_users(db, log)
    finally:
        lock.close()


def build_users(db: DbSettings, log: RunLog) -> None:
    """dbt build; then the counts of what it did to users."""
    before = read_users_state(db)
    if not run_dbt(db, ["build"]):
        raise SyncFailed("dbt build failed (see its output above); users keeps its last good state")
    after = read_users_state(db)

    written = count_written_since(db, before.last_ingested_at)
    inserted = len(after.ids - before.ids)
    removed = len(before.ids - after.ids)
    log(f"Users: total={len(after.ids)} inserted={inserted} updated={written - inserted} "
        f"unchanged={len(after.ids) - written} removed={removed}")


def run_tool(command: str, args: list[str]) -> int:
    """The day-to-day commands that need the warehouse resolved the way the sync does."""
    settings = load_settings()
    if command == "db-stop":
        warehouse.stop_embedded(settings.db.embedded_dir)
        return 0
    try:
        db = warehouse.resolve(settings.db)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if command == "dbt":
        return 0 if run_dbt(db, args) else 1
    if command == "psql":
        os.environ.update(PGHOST=db.host, PGPORT=str(db.port), PGDATABASE=db.name, PGUSER=db.user,
                          PGPASSWORD=db.password)
        psql = warehouse.pg_binary("psql")
        os.execv(psql, [psql, *args])
    print(f"unknown command {command!r}: use sync, dbt, psql or db-stop", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "sync"
    if command != "sync":
        return run_tool(command, argv[1:])

    log = RunLog(Path(os.environ.get("SYNC_LOG_FILE") or LOG_FILE))
    log("Starting users update...")
    try:
        sync(log)
    except warehouse.SyncAlreadyRunning as error:
        log(f"Update skipped: {error}", error=True)
        return EXIT_ALREADY_RUNNING
    except (ConfigError, SyncFailed) as error:
        log(f"Update failed: {error}", error=True)
        return 1
    log("Update complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
