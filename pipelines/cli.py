"""`ft42`: the one command line of the project (`python -m pipelines.cli` is the same).

    ft42 sync [--full] [--tables T ...]   fetch the due tables and update them (what cron runs)
    ft42 plan [--full] [--tables T ...]   what a sync would do now, changing nothing
    ft42 status | export | cron | dbt | docs | lint | psql | db-stop

`ft42 COMMAND --help` explains each. Parsing comes first and imports nothing heavy: `--help`
never starts the database or sends a request. Settings come from the environment and `.env`
(pipelines/settings.py); a flag only overrides one for this run.

Exit codes of `ft42 sync`: 0 succeeded; 1 a table failed (it is unchanged, the others are
published; one `Update failed: …` line says which and why); 75 skipped, another sync holds the
database; 143 / 130 stopped by SIGTERM / SIGINT.
The other commands exit 2 on a usage or settings error, 1 when what they ran failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable

from . import cron, export_users, status
from .ft42.declaration import listings
from .settings import PROJECT_ROOT, ConfigError, load_settings

EXIT_USAGE = 2


def sync_command(args: argparse.Namespace) -> int:
    from .run import run_sync  # dlt and pyarrow: only when a sync really runs
    from .run_log import configured_level, dlt_runtime_level

    # dlt sets its logger's level from its own setting; the process is ours to configure.
    os.environ.setdefault("RUNTIME__LOG_LEVEL", dlt_runtime_level(configured_level()))
    # None leaves FULL to the settings; the flag can only ask for more.
    return run_sync(full=True if args.full else None, tables=args.tables, own_process=True).exit_code


def plan_command(args: argparse.Namespace) -> int:
    from .plan import print_plan

    return print_plan(full=True if args.full else None, tables=args.tables)


def _warehouse():
    """The settings and the resolved warehouse (the embedded server started if it is the one)."""
    from . import warehouse

    settings = load_settings()
    return settings, warehouse.resolve(settings.db)


def dbt_command(args: argparse.Namespace) -> int:
    from .dbt_build import run_dbt

    settings, db = _warehouse()
    return 0 if run_dbt(db, settings, args.dbt_args).success else 1


def docs_command(args: argparse.Namespace) -> int:
    from .dbt_build import dbt_target_path, run_dbt

    settings, db = _warehouse()
    if not run_dbt(db, settings, ["docs", "generate", "--static"]).success:
        return 1
    site = dbt_target_path(db)
    print(f"dbt docs: {site / 'index.html'} (serve with `ft42 docs --serve`)\n"
          f"one self-contained file: {site / 'static_index.html'}")
    if not args.serve:
        return 0
    serve = ["docs", "serve", "--host", "127.0.0.1", "--port", str(args.port), "--no-browser"]
    return 0 if run_dbt(db, settings, serve).success else 1


def lint_command(_args: argparse.Namespace) -> int:
    from . import warehouse

    settings, db = _warehouse()
    # sqlfluff's dbt templater compiles the models, which needs the warehouse's settings.
    env = {**os.environ, **warehouse.dbt_environment(db, settings)}
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=PROJECT_ROOT, env=env).returncode
    sql = subprocess.run([sys.executable, "-m", "sqlfluff", "lint", "dbt_project"], cwd=PROJECT_ROOT,
                         env=env).returncode
    return 1 if ruff or sql else 0


def psql_command(args: argparse.Namespace) -> int:
    from . import warehouse

    _settings, db = _warehouse()
    env = {**os.environ, "PGHOST": db.host, "PGPORT": str(db.port), "PGDATABASE": db.name, "PGUSER": db.user,
           "PGPASSWORD": db.password}
    psql = warehouse.pg_binary("psql")
    os.execve(psql, [psql, *args.psql_args], env)


def db_stop_command(_args: argparse.Namespace) -> int:
    from . import warehouse

    warehouse.stop_embedded(load_settings().db.embedded_dir)
    return 0


def _command(commands, name: str, run: Callable[[argparse.Namespace], int], summary: str,
             description: str | None = None) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=summary, description=description or summary)
    parser.set_defaults(run=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ft42", description="42 cursus students into PostgreSQL: dlt fetch + load, dbt models.",
        epilog="Settings: .env and the environment (see .env.example). `ft42 COMMAND --help` for each command.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sync = _command(commands, "sync", sync_command, "fetch the due tables from the API and update them",
                    "Fetch each due table from the API and update it: full or incremental, chosen per "
                    "table from the run ledger, within the hourly request budget. Exit codes: 0 succeeded, "
                    "1 a table failed (that table unchanged, the others published), 75 another sync holds "
                    "the database, 143/130 stopped by SIGTERM/SIGINT.")
    full_help = "list every selected table in full this run, whatever the ledger says (overrides FULL)"
    tables_help = (f"only these tables (overrides TABLES; default: every table): "
                   f"{', '.join(listing.table for listing in listings())}")
    table_names = [listing.table for listing in listings()]
    sync.add_argument("--full", action="store_true", help=full_help)
    sync.add_argument("--tables", nargs="+", choices=table_names, metavar="TABLE", help=tables_help)

    plan = _command(commands, "plan", plan_command, "show what a sync would do now; changes nothing",
                    "Show what a sync would do now: per table, due or not, full or incremental (from the "
                    "run ledger) and, when CLIENT_ID/CLIENT_SECRET are set, each due listing's size from "
                    "one one-record request, against the hourly request budget left. Writes nothing.")
    plan.add_argument("--full", action="store_true", help=full_help)
    plan.add_argument("--tables", nargs="+", choices=table_names, metavar="TABLE", help=tables_help)

    status.configure(_command(commands, "status", lambda args: status.run(args), status.SUMMARY))
    export_users.configure(_command(commands, "export", lambda args: export_users.run(args),
                                    export_users.SUMMARY))
    cron.configure(_command(commands, "cron", lambda args: cron.run(args), cron.SUMMARY))

    dbt = _command(commands, "dbt", dbt_command, "run a dbt command against the configured warehouse",
                   "Run any dbt command with the connection the sync uses, e.g. `ft42 dbt test` or "
                   "`ft42 dbt source freshness`.")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, metavar="DBT_ARGS", help="the dbt command and its options")

    docs = _command(commands, "docs", docs_command, "generate the dbt docs site, also as one static HTML file")
    docs.add_argument("--serve", action="store_true", help="then serve it on 127.0.0.1")
    docs.add_argument("--port", type=int, default=8080, help="port for --serve (default: %(default)s)")

    _command(commands, "lint", lint_command, "lint the Python (ruff) and the SQL (sqlfluff, dbt templater)")

    psql = _command(commands, "psql", psql_command, "open psql on the configured (or embedded) database")
    psql.add_argument("psql_args", nargs=argparse.REMAINDER, metavar="PSQL_ARGS", help="passed on to psql")

    _command(commands, "db-stop", db_stop_command, "stop the embedded PostgreSQL")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as error:  # a setting the command cannot work with (sync handles its own)
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


def console_main() -> None:
    """The `ft42` console script and `python -m pipelines.cli`."""
    status_code = main()
    if sys.argv[1:2] == ["sync"]:
        # Everything is written and closed by now; unloading dlt, pyarrow and the rest would add
        # ~0.3 s to every sync for nothing.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status_code)
    sys.exit(status_code)


if __name__ == "__main__":
    console_main()
