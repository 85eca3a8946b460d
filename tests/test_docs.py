"""What analysts rely on: dbt docs for every column, and source freshness."""

from __future__ import annotations

import json
import subprocess

from conftest import ROOT
from helpers import DATA_COLUMNS, USERS_COLUMNS, assert_synced


def make(project, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", *args], cwd=ROOT, env=project.env, capture_output=True, text=True,
                          timeout=300)


def test_docs_describe_every_model_source_and_column_and_lint_passes(project):
    assert_synced(project.sync())
    lint = make(project, "lint")  # sqlfluff's dbt templater compiles the models against the database
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]
    assert "All checks passed!" in lint.stdout and "All Finished" in lint.stdout

    result = make(project, "docs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project.dbt_target / "static_index.html").stat().st_size > 100_000

    manifest = json.loads((project.dbt_target / "manifest.json").read_text())
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "snapshot")}
    # The analysts' tables: every column documented, the history's as users' plus its own.
    assert [c for c in nodes["users"]["columns"]] == [name for name, _ in USERS_COLUMNS]
    assert [c for c in nodes["users_history"]["columns"]] == [
        *(name for name, _ in USERS_COLUMNS), "dbt_valid_from", "dbt_valid_to", "dbt_scd_id", "dbt_updated_at"]
    assert all(c["description"].strip() for table in ("users", "users_history")
               for c in nodes[table]["columns"].values())

    documented = [n for n in [*manifest["nodes"].values(), *manifest["sources"].values()]
                  if n["resource_type"] in ("model", "snapshot", "source")]
    assert {n["name"] for n in documented} >= {"users", "stg_ft42__users", "int_ft42__current_students",
                                               "users_history", "sync_runs", "_dlt_loads"}
    undescribed = [f"{n['name']}.{c}" for n in documented for c, col in n["columns"].items()
                   if not col["description"].strip()]
    assert undescribed == [] and all(n["description"].strip() for n in documented)
    # The descriptions are in the database too, for `\d+ users` in psql.
    for table in ("users", "users_history"):
        stored = project.query(
            "select attname, col_description(attrelid, attnum) from pg_attribute "
            "where attrelid = %s::regclass and attnum > 0 and not attisdropped", (f"public.{table}",))
        assert stored and [name for name, text in stored if not text] == []
    assert project.query("select obj_description('public.users'::regclass)")[0][0]
    # Lineage: API source -> staging -> intermediate -> users -> history.
    parents = {n["name"]: n["depends_on"]["nodes"] for n in manifest["nodes"].values() if "depends_on" in n}
    assert "source.ft42.ft42.users" in parents["stg_ft42__users"]
    assert "model.ft42.int_ft42__current_students" in parents["users"]
    assert "model.ft42.users" in parents["users_history"]
    # Staging selects exactly the columns users declares that the API supplies (derived from users.yml).
    staged = project.query("select column_name from information_schema.columns "
                           "where table_name = 'stg_ft42__users' order by ordinal_position")
    assert [name for (name,) in staged] == [*DATA_COLUMNS, "load_id"]


def test_source_freshness_passes_after_a_sync_and_errors_when_raw_data_is_old(project):
    assert_synced(project.sync())
    fresh = make(project, "dbt", "ARGS=source freshness")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr

    conn = project.server.connect(project.database)
    with conn, conn.cursor() as cur:
        cur.execute("update ft42_raw._dlt_loads set inserted_at = inserted_at - interval '40 hours'")
    conn.close()
    stale = make(project, "dbt", "ARGS=source freshness")
    assert stale.returncode != 0
    assert "ERROR STALE" in stale.stdout
