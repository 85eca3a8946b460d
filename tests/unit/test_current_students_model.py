"""The dbt unit tests of int_ft42__current_students (the `unit_tests:` in its yml), run by dbt on
the test PostgreSQL: they build nothing, but dbt needs a connection to run a query."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from pipelines.settings import DBT_PROJECT_DIR, load_settings
from pipelines.warehouse import dbt_environment

MODEL_YML = DBT_PROJECT_DIR / "models" / "intermediate" / "int_ft42__current_students.yml"


@pytest.fixture
def database(pg_server):
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg_server.admin(f'create database "{name}"')
    yield name
    pg_server.admin(f'drop database "{name}" with (force)')


def test_current_students_model_passes_its_dbt_unit_tests(pg_server, database, tmp_path):
    settings = load_settings({"DB_HOST": pg_server.host, "DB_PORT": str(pg_server.port), "DB_USER": pg_server.user,
                              "DB_PASSWORD": pg_server.password, "DB_NAME": database})
    db = settings.db
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path), "LANG": "C.UTF-8",
           **dbt_environment(db, settings)}
    target = tmp_path / "target"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "test", "--select", "test_type:unit",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

    # Every unit test in the yml ran and passed: a selector that matched nothing would pass too.
    defined = {test["name"] for path in DBT_PROJECT_DIR.glob("models/**/*.yml")
               for test in yaml.safe_load(path.read_text()).get("unit_tests", [])}
    ran = {node["unique_id"].rsplit(".", 1)[1]: node["status"]
           for node in json.loads((target / "run_results.json").read_text())["results"]}
    assert len(defined) >= 5 and MODEL_YML.exists()
    assert ran == dict.fromkeys(defined, "pass")
