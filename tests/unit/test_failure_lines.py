"""The one line a failed sync ends with: what failed, what to do, and never a student's data."""

from __future__ import annotations

import psycopg2.errors
import pytest

from pipelines.dbt_build import BuildOutcome
from pipelines.failures import describe_error, without_row_data
from pipelines.settings import ConfigError, load_settings
from pipelines.sync import _dbt_failure

DB = load_settings({"DB_HOST": "db.campus.example", "DB_PORT": "5433", "DB_NAME": "ft42"}).db

SNAPSHOT_ERROR = (
    "Database Error in snapshot users_history (snapshots/users_history.yml)\n"
    '  new row for relation "users_history" violates check constraint "history_guard"\n'
    "  DETAIL:  Failing row contains (50034, smartinl@student.42.fr, smartinl, Santiago, ...).\n"
    "  compiled code at target/run/ft42/snapshots/users_history.yml/users_history.sql"
)


def test_a_database_error_keeps_its_reason_and_loses_the_rows_it_quotes():
    line = without_row_data(SNAPSHOT_ERROR)
    assert line == ('Database Error in snapshot users_history (snapshots/users_history.yml) new row for '
                    'relation "users_history" violates check constraint "history_guard"')


def test_a_unique_violation_does_not_quote_the_duplicate_key():
    message = ('duplicate key value violates unique constraint "users_pkey"\n'
               "DETAIL:  Key (email)=(kli@student.42.fr) already exists.")
    assert "kli" not in without_row_data(message)


def test_a_failed_dbt_build_names_each_failing_node_without_row_data():
    outcome = BuildOutcome(False, [f"users_history: {SNAPSHOT_ERROR}", "not_null_users_login: Got 2 results"])
    line = _dbt_failure("users", outcome)
    assert line.startswith("dbt build failed: users_history: Database Error in snapshot users_history")
    assert line.endswith("; not_null_users_login: Got 2 results")
    assert "smartinl" not in line


def test_the_circuit_breaker_says_how_to_accept_a_real_exodus():
    outcome = BuildOutcome(False, ["users: Database Error in model users (models/marts/users.sql)\n  "
                                   "circuit breaker: this run would remove 228 of 456 users (more than 5.0 %); "
                                   "nothing was removed\n  CONTEXT:  PL/pgSQL function inline_code_block"])
    assert _dbt_failure("users", outcome) == (
        "circuit breaker: this run would remove 228 of 456 users (more than 5.0 %); nothing was removed; "
        "if those rows really left, run `make sync TABLES=users FULL=1 MAX_REMOVED_SHARE=1` once")


def test_a_table_is_told_only_the_failures_that_kept_it_from_being_built():
    outcome = BuildOutcome(False, ["unique_stg_ft42__projects_id: Got 2 results", "coalitions: relation gone"],
                           tables_of_failure={"unique_stg_ft42__projects_id": ["projects"],
                                              "coalitions": ["coalitions"]})
    assert _dbt_failure("projects", outcome) == "dbt build failed: unique_stg_ft42__projects_id: Got 2 results"
    assert _dbt_failure("coalitions", outcome) == "dbt build failed: coalitions: relation gone"


@pytest.mark.parametrize("error, advice", [
    (psycopg2.errors.InsufficientPrivilege("permission denied for schema public"),
     "DB_USER 'postgres' needs CREATE on database 'ft42' and on its schemas"),
    (psycopg2.errors.ReadOnlySqlTransaction("cannot execute CREATE TABLE in a read-only transaction"),
     "the database is read-only (a standby?); point DB_HOST at the primary"),
    (psycopg2.OperationalError("server closed the connection unexpectedly\n\tThis probably means…"),
     "check the server and the DB_* settings, then run again"),
])
def test_a_database_error_names_the_server_and_what_to_do(error, advice):
    line = describe_error(error, DB)
    assert line.startswith("PostgreSQL at db.campus.example:5433 (database 'ft42'): ")
    assert line.endswith(advice)
    assert "\n" not in line


def test_a_known_failure_is_its_own_line_and_anything_else_still_one_line():
    assert describe_error(ConfigError("CLIENT_ID not set: …"), None) == "CLIENT_ID not set: …"
    line = describe_error(KeyError("access_token"), DB)
    assert line == "unexpected error: 'access_token' (KeyError); run again, and report it if it persists"
