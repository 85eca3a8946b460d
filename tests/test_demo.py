"""`make demo` on embedded defaults: no DB_HOST, no credentials, the embedded PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess

import psycopg2
from conftest import ROOT, free_port

from pipelines import warehouse


def test_demo_syncs_into_the_embedded_postgres_and_says_how_to_query(tmp_path):
    data_dir, port = tmp_path / "pg", free_port()
    env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)), "LANG": "C.UTF-8",
        "DEMO_STUDENTS": "321", "DEMO_RUNS": "2", "EMBEDDED_DB_DIR": str(data_dir), "EMBEDDED_DB_PORT": str(port),
        "DB_HOST": "db.example.invalid",  # as if .env pointed at production: the demo must not use it
        "DLT_DATA_DIR": str(tmp_path / "dlt"), "SYNC_LOG_FILE": str(tmp_path / "update_users.log"),
        "EXPORT_DIR": str(tmp_path / "exports"),
    }
    try:
        result = subprocess.run(["make", "-s", "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Demo complete: 2 syncs of every table in schema public:" in result.stdout
        assert "an hour passes (the emulator's SIGUSR1)" in result.stdout and "=== ft42 status ===" in result.stdout
        assert "  users                      321 rows" in result.stdout
        assert f"127.0.0.1:{port}" in result.stdout and "make psql" in result.stdout

        conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="ft42")
        with conn, conn.cursor() as cur:
            cur.execute("select count(*), bool_and(not alumni_p) from users")
            assert cur.fetchone() == (321, True)
        conn.close()
    finally:
        warehouse.stop_embedded(data_dir)
        # dbt's output for this one-off server, which would otherwise pile up in .data/dbt.
        shutil.rmtree(ROOT / ".data" / "dbt" / f"127.0.0.1-{port}-ft42", ignore_errors=True)
