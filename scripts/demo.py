"""`make demo`: the full sync of every table on embedded defaults — the project's 42 API emulator
(unlimited budget, so every table fits one run) and the embedded PostgreSQL — with no
credentials and no database server.

Any DB_HOST in .env is ignored here so the demo can never write into a real warehouse.
"""

from __future__ import annotations

import os
import subprocess
import sys

from psycopg2 import sql

from pipelines import warehouse
from pipelines.ft42.declaration import marts
from pipelines.settings import PROJECT_ROOT, load_settings

STUDENTS = int(os.environ.get("DEMO_STUDENTS", "40335"))
DEMO_CLIENT_ID, DEMO_CLIENT_SECRET = "demo-uid", "demo-secret"


def start_emulator() -> tuple[subprocess.Popen, str]:
    emulator = subprocess.Popen(
        [sys.executable, "-m", "scripts.ft42_emulator", "--students", str(STUDENTS), "--port", "0",
         "--client-id", DEMO_CLIENT_ID, "--client-secret", DEMO_CLIENT_SECRET],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )
    ready_line = emulator.stdout.readline()
    if "listening on" not in ready_line:
        emulator.kill()
        raise SystemExit(f"the 42 API emulator did not start: {ready_line.strip()}")
    print(ready_line.strip(), flush=True)
    return emulator, ready_line.split("listening on ")[1].split()[0]


def main() -> int:
    emulator, api_root = start_emulator()
    env = {**os.environ, "API_ROOT": api_root, "CLIENT_ID": DEMO_CLIENT_ID,
           "CLIENT_SECRET": DEMO_CLIENT_SECRET, "DB_HOST": ""}
    try:
        status = subprocess.run([sys.executable, "-m", "pipelines.ft42_pipeline"], cwd=PROJECT_ROOT,
                                env=env).returncode
    finally:
        emulator.terminate()
        emulator.wait()
    if status:
        return status

    os.environ["DB_HOST"] = ""
    settings = load_settings()
    db = warehouse.resolve(settings.db)
    counts = []
    with warehouse.connect(db) as conn, conn.cursor() as cur:
        for table in marts():
            cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(db.users_schema, table)))
            counts.append(f"  {table:<20} {cur.fetchone()[0]:>9} rows")
    rows = "\n".join(counts)
    print(f"""
Demo complete: every table in schema {db.users_schema}:
{rows}
  Database: PostgreSQL on {db.host}:{db.port}, database {db.name}, user {db.user}, no password
            (embedded, data in {settings.db.embedded_dir})
  Query:    make psql
            select login, pool_year, wallet from users order by wallet desc limit 10;
  Stop it:  make db-stop
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
