"""The API grows a field: the sync says so once, `make status` keeps saying it, the data stays exact."""

from __future__ import annotations

import subprocess

from conftest import ROOT
from helpers import api_truth, synced, users_table

WARNING = "Warning: the API sends fields the sync does not store: "


def test_a_field_the_api_adds_is_reported_on_the_first_run_only(project):
    synced(project)
    assert WARNING not in project.log_text

    project.emulator.add_api_field("pronouns", "they/them")
    first = synced(project, FULL="1")
    assert f"{WARNING}pronouns (users)" in first.stdout
    second = synced(project, FULL="1")
    assert WARNING not in second.stdout
    assert users_table(project) == api_truth(project)

    status = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "pipelines.status"], cwd=ROOT,
                            env=project.env, capture_output=True, text=True, timeout=300)
    assert "API fields not stored (seen by the last run): pronouns" in status.stdout, status.stderr
