"""`make demo`: the sync of every table on embedded defaults — the project's 42 API emulator and
the embedded PostgreSQL, no credentials, no database server — as cron would run it, on the
application's hourly budget: a few runs an hour apart (the emulator's SIGUSR1, "an hour has
passed", between them), then `ft42 status` (the big tables' backfill: rows so far, requests to
its end, runs left) and each table's row count.

    DEMO_STUDENTS   students in the emulator (40335)
    DEMO_RUNS       syncs to run (2)
    DEMO_BUDGET     requests an hour (1200, the real API's); 0 = unlimited, every table in one run

Requests are not paced per second (the real API's 2 a second would make each run ten minutes).
Any DB_HOST in .env is ignored here so the demo can never write into a real warehouse.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from psycopg2 import sql

from pipelines import warehouse
from pipelines.ft42.declaration import marts
from pipelines.settings import PROJECT_ROOT, load_settings

STUDENTS = int(os.environ.get("DEMO_STUDENTS", "40335"))
RUNS = int(os.environ.get("DEMO_RUNS", "2"))
BUDGET = int(os.environ.get("DEMO_BUDGET", "1200"))
DEMO_CLIENT_ID, DEMO_CLIENT_SECRET = "demo-uid", "demo-secret"


def start_emulator() -> tuple[subprocess.Popen, str]:
    emulator = subprocess.Popen(
        [sys.executable, "-m", "scripts.ft42_emulator", "--students", str(STUDENTS), "--port", "0",
         "--client-id", DEMO_CLIENT_ID, "--client-secret", DEMO_CLIENT_SECRET, "--rate-per-hour", str(BUDGET)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )
    ready_line = emulator.stdout.readline()
    if "listening on" not in ready_line:
        emulator.kill()
        raise SystemExit(f"the 42 API emulator did not start: {ready_line.strip()}")
    print(ready_line.strip(), flush=True)
    return emulator, ready_line.split("listening on ")[1].split()[0]


def run_syncs(env: dict, emulator: subprocess.Popen) -> int:
    """RUNS syncs, an emulated hour apart; the first failure's exit code, else 0."""
    budget = f"{BUDGET:,} requests an hour" if BUDGET else "no hourly limit"
    for run in range(1, RUNS + 1):
        print(f"\n=== sync {run} of {RUNS} ({budget}) ===", flush=True)
        status = subprocess.run([sys.executable, "-m", "pipelines.ft42_pipeline"], cwd=PROJECT_ROOT,
                                env=env).returncode
        if status:
            return status
        if run < RUNS:
            emulator.send_signal(signal.SIGUSR1)  # an hour has passed: the budget starts afresh
            print("=== an hour passes (the emulator's SIGUSR1): the hourly budget starts afresh ===", flush=True)
    return 0


def main() -> int:
    emulator, api_root = start_emulator()
    env = {**os.environ, "API_ROOT": api_root, "CLIENT_ID": DEMO_CLIENT_ID,
           "CLIENT_SECRET": DEMO_CLIENT_SECRET, "DB_HOST": ""}
    try:
        status = run_syncs(env, emulator)
    finally:
        emulator.terminate()
        emulator.wait()
    if status:
        return status

    print("\n=== ft42 status ===", flush=True)
    subprocess.run([sys.executable, "-m", "pipelines.cli", "status"], cwd=PROJECT_ROOT, env=env)

    os.environ["DB_HOST"] = ""
    settings = load_settings()
    db = warehouse.resolve(settings.db)
    counts = []
    with warehouse.connect(db) as conn, conn.cursor() as cur:
        for table in marts():
            cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(db.users_schema, table)))
            counts.append(f"  {table:<20} {cur.fetchone()[0]:>9,} rows")
    rows = "\n".join(counts)
    print(f"""
Demo complete: {RUNS} syncs of every table in schema {db.users_schema}:
{rows}
  The big tables grow by each run's share of their backfill; `ft42 status` above says how far
  each is and how many runs are left.
  Database: PostgreSQL on {db.host}:{db.port}, database {db.name}, user {db.user}, no password
            (embedded, data in {settings.db.embedded_dir})
  Query:    make psql
            select login, pool_year, wallet from users order by wallet desc limit 10;
  Stop it:  make db-stop
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
