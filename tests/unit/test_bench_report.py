"""The bench's choice of server and its RESULTS.md, one section per server (tests/bench/)."""

from __future__ import annotations

import pytest

from pipelines.settings import ConfigError
from tests.bench.harness import Server, server_from_environment
from tests.bench.report import RESULTS_TITLE, last_duration, sections, with_section

EMBEDDED = "## PostgreSQL 18 (embedded)\n\n`run_bench` — took 5.3 min.\n\n### Results\n\n| a |\n"
SERVER = "## PostgreSQL 15 (server from DB_HOST)\n\n`run_bench` — took 7.1 min.\n\n### Results\n\n| b |\n"


def test_no_db_host_means_an_embedded_server():
    assert server_from_environment({}) is None
    assert server_from_environment({"DB_HOST": "", "DB_PORT": "5433"}) is None


def test_db_host_names_the_server_with_the_syncs_defaults():
    assert server_from_environment({"DB_HOST": "db.campus", "DB_PASSWORD": "pw"}) == Server(
        "db.campus", 5432, "postgres", "pw", embedded=False)
    assert server_from_environment({"DB_HOST": "db.campus", "DB_PORT": "5433", "DB_USER": "bench"}).port == 5433


def test_an_unusable_db_port_is_refused_as_the_sync_refuses_it():
    with pytest.raises(ConfigError, match="DB_PORT='abc' must be a whole number"):
        server_from_environment({"DB_HOST": "db.campus", "DB_PORT": "abc"})


def test_a_run_replaces_its_own_servers_section_and_keeps_the_other():
    both = with_section(with_section("", SERVER), EMBEDDED)
    rerun = SERVER.replace("7.1 min", "6.0 min").replace("| b |", "| c |")
    updated = with_section(both, rerun)
    assert updated.startswith(RESULTS_TITLE + "\n")
    assert list(sections(updated)) == [EMBEDDED.splitlines()[0], SERVER.splitlines()[0]]  # the default first
    assert "| a |" in updated and "| c |" in updated and "| b |" not in updated
    assert with_section(updated, rerun) == updated


def test_the_last_duration_is_read_from_the_servers_own_section():
    both = with_section(with_section("", EMBEDDED), SERVER)
    assert last_duration(both, "## PostgreSQL 15 (server from DB_HOST)") == "7.1 min"
    assert last_duration(both, "## PostgreSQL 18 (embedded)") == "5.3 min"
    assert last_duration(both, "## PostgreSQL 16 (server from DB_HOST)") is None
    assert last_duration("", "## PostgreSQL 18 (embedded)") is None
