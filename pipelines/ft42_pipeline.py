"""Sync the 42 cursus students into PostgreSQL: dlt fetch + load into the raw schema, then dbt build.

    python -m pipelines.ft42_pipeline            # the sync (what `make sync` runs)
    python -m pipelines.ft42_pipeline dbt test   # any dbt command against the configured warehouse
    python -m pipelines.ft42_pipeline docs       # dbt docs (site and one static HTML file)
    python -m pipelines.ft42_pipeline docs-serve [PORT]
    python -m pipelines.ft42_pipeline lint       # ruff on the Python, sqlfluff (dbt templater) on the SQL
    python -m pipelines.ft42_pipeline psql       # psql on the configured (or embedded) database
    python -m pipelines.ft42_pipeline db-stop    # stop the embedded PostgreSQL

The sync exits 0 only when the fetch, the load, the models and their tests all succeeded; 1 when
something failed (users unchanged); 75 when another sync holds the database.
"""

from __future__ import annotations

import os
import subprocess
import sys

from . import warehouse
from .dbt_build import dbt_target_path, run_dbt
from .failures import describe_error
from .private_files import keep_private
from .run_guard import RunGuard
from .run_log import RunLog
from .settings import PROJECT_ROOT, ConfigError, load_settings, read_environment, read_setting, require_api_credentials
from .sync import sync

EXIT_FAILED = 1
EXIT_ALREADY_RUNNING = 75  # EX_TEMPFAIL: cron may simply try again next time


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
        return 0 if run_dbt(db, settings.sync, args).success else 1
    if command == "docs":
        if not run_dbt(db, settings.sync, ["docs", "generate", "--static"]).success:
            return 1
        site = dbt_target_path(db)
        print(f"dbt docs: {site / 'index.html'} (serve with `make docs-serve`)\n"
              f"one self-contained file: {site / 'static_index.html'}")
        return 0
    if command == "docs-serve":
        port = args[0] if args else "8080"
        serve = ["docs", "serve", "--host", "127.0.0.1", "--port", port, "--no-browser"]
        return 0 if run_dbt(db, settings.sync, serve).success else 1
    if command == "lint":
        # sqlfluff's dbt templater compiles the models, which needs the warehouse's settings.
        os.environ.update(warehouse.dbt_environment(db, settings.sync))
        ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=PROJECT_ROOT).returncode
        sql = subprocess.run([sys.executable, "-m", "sqlfluff", "lint", "dbt_project"], cwd=PROJECT_ROOT).returncode
        return 1 if ruff or sql else 0
    if command == "psql":
        os.environ.update(PGHOST=db.host, PGPORT=str(db.port), PGDATABASE=db.name, PGUSER=db.user,
                          PGPASSWORD=db.password)
        psql = warehouse.pg_binary("psql")
        os.execv(psql, [psql, *args])
    print(f"unknown command {command!r}: use sync, dbt, docs, docs-serve, lint, psql or db-stop", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    keep_private()
    command = argv[0] if argv else "sync"
    if command != "sync":
        return run_tool(command, argv[1:])

    # dlt reads .dlt/config.toml from its project dir: the checkout's, whatever cron's working
    # directory.
    os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_ROOT))
    log = RunLog(read_setting(read_environment(), "SYNC_LOG_FILE"))
    log("Starting users update...")
    guard = RunGuard(lambda reason: log(f"Update failed: {reason}", error=True))
    try:
        settings = load_settings()
        require_api_credentials(settings.api)
        guard.watch(settings.sync.run_deadline_minutes)
        sync(settings, log, guard)
    except warehouse.SyncAlreadyRunning as error:
        log(f"Update skipped: {error}", error=True)
        return EXIT_ALREADY_RUNNING
    except Exception as error:  # the promise: one line, whatever went wrong
        log(f"Update failed: {describe_error(error, None)}", error=True)
        return EXIT_FAILED
    finally:
        guard.done()
    log("Update complete")
    return 0


if __name__ == "__main__":
    status = main()
    if sys.argv[1:2] in ([], ["sync"]):
        # Everything is written and closed by now; unloading dlt, pyarrow and the rest would add
        # ~0.3 s to every sync for nothing.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)
