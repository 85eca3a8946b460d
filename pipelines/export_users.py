"""Export the `users` table as one JSON array, the old system's `exports/08_users/all.json`.

    ft42 export [PATH]   (or python -m pipelines.export_users [PATH]); default: $EXPORT_DIR/all.json

One object per user, ordered by id, with the table's columns; timestamps as the API writes them
(`2023-09-04T08:12:33.123Z`), booleans as JSON booleans. Rows are streamed from a server-side
cursor so memory stays flat for any number of users, and the file is written beside its target
and renamed over it, so readers see the old file or the new one, never half of one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from . import warehouse
from .private_files import keep_private
from .settings import ConfigError, DbSettings, load_settings

SUMMARY = "write exports/08_users/all.json (the old export) from the users table"
BATCH_ROWS = 5000  # rows per round trip of the server-side cursor


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # Milliseconds, UTC, `Z`: the API's own format, so old readers of all.json parse it as before.
        utc = value.astimezone(timezone.utc).replace(tzinfo=None)
        return utc.isoformat(timespec="milliseconds") + "Z"
    return value  # psycopg2 already gives bool, int, str or None for every other column


def export(db: DbSettings, target: Path) -> int:
    """Write every user to target atomically; return how many."""
    conn = warehouse.connect(db)
    tmp: Path | None = None
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            found = warehouse.table_exists(cur, db.users_schema, "users")
        if not found:
            raise ConfigError(f'no table "{db.users_schema}".users in database {db.name!r}: run `make sync` first')
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # same directory: rename stays atomic
        # One statement reads one snapshot, and a sync writes `users` in one transaction: the
        # export never mixes two runs.
        # Owner-only whatever the umask: every student's name and email.
        private = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with conn.cursor(name="export_users") as cur, open(private, "w", encoding="utf-8") as out:
            cur.itersize = BATCH_ROWS
            cur.execute(sql.SQL("select * from {} order by id").format(sql.Identifier(db.users_schema, "users")))
            count = 0
            for row in cur:
                if count == 0:
                    names = [column.name for column in cur.description]  # known once the first batch arrived
                out.write("[\n" if count == 0 else ",\n")
                record = {name: json_value(value) for name, value in zip(names, row)}
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                count += 1
            out.write("\n]\n" if count else "[]\n")
            out.flush()
            os.fsync(out.fileno())  # the data is on disk before the rename makes it visible
        os.replace(tmp, target)
        tmp = None
        return count
    finally:
        conn.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)  # a failed export leaves no stray temp file


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Write every row of users as one JSON array, the old system's all.json, atomically "
                          "(readers see the old file or the new one).")
    parser.add_argument("path", nargs="?", type=Path, metavar="PATH",
                        help="where to write it (default: all.json in EXPORT_DIR)")


def run(args: argparse.Namespace) -> int:
    keep_private()
    try:
        settings = load_settings()
        target = args.path or settings.sync.export_dir / "all.json"
        count = export(warehouse.resolve(settings.db), target)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write the export: {error}", file=sys.stderr)
        return 1
    except psycopg2.Error as error:  # e.g. the server went away mid-export; the old file stays
        print(f"error: reading users failed: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    print(f"Exported {count} users to {target}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.export_users")
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
