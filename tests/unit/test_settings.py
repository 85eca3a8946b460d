"""Settings parsing and the documents that must agree with its declarations. No network, no database."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from pipelines import private_files
from pipelines.settings import SETTINGS, ConfigError, load_settings, read_setting
from pipelines.warehouse import dbt_environment

ROOT = Path(__file__).resolve().parents[2]


def expected_readme_default(setting) -> str:
    if setting.required:
        return "— (required)"
    return f"`{setting.default}`" if setting.default else "empty"


def test_the_readme_table_lists_every_declared_setting_with_its_default_and_nothing_else():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| key | default | meaning |"):].split("\n\n", 1)[0]
    rows = [re.match(r"\| `([A-Z_0-9]+)` \| (.+?) \|", line) for line in table.splitlines()[2:]]
    assert all(rows), table
    listed = {row[1]: row[2] for row in rows}
    assert listed == {s.key: expected_readme_default(s) for s in SETTINGS}


def test_env_example_lists_every_declared_setting_with_its_default_and_nothing_else():
    lines = (ROOT / ".env.example").read_text().splitlines()
    assignments = [re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line) for line in lines]
    listed = {m[1]: m[2] for m in assignments if m}
    assert listed == {s.key: s.default for s in SETTINGS}


def test_dbt_reads_only_variables_the_sync_passes_and_no_default_that_disagrees():
    passed = dbt_environment(load_settings({}).db, load_settings({}))
    defaults = {s.key: s.default for s in SETTINGS}
    sources = [p for p in (ROOT / "dbt_project").rglob("*") if p.suffix in (".sql", ".yml")]
    calls = [(m[1], m[3]) for p in sources
             for m in re.finditer(r"env_var\(\s*'([A-Z_0-9]+)'\s*(,\s*'([^']*)')?\s*\)", p.read_text())]
    internal = {"FT42_RUN_ID"}  # set per build by the sync itself, not settings
    assert {key for key, _ in calls} - internal <= set(passed)
    assert {"MAX_REMOVED_SHARE", "FRESHNESS_WARN_HOURS", "FRESHNESS_ERROR_HOURS", "DB_PORT"} <= set(passed)
    assert [(key, default) for key, default in calls if default is not None and key not in internal
            and default != defaults[key]] == []


def test_defaults():
    settings = load_settings({})
    assert settings.api.root == "https://api.intra.42.fr"
    assert settings.db.port == 5432 and settings.db.embedded_port == 54329
    assert settings.sync.run_deadline_minutes == 45.0
    assert settings.sync.freshness_warn_hours == 12 and settings.sync.freshness_error_hours == 36
    assert settings.log_file == ROOT / "logs" / "update_users.log"
    assert settings.dlt_data_dir == ROOT / ".data" / "dlt"


def test_an_empty_variable_means_the_default():
    assert read_setting({"MAX_REMOVED_SHARE": ""}, "MAX_REMOVED_SHARE") == 0.05


@pytest.mark.parametrize("root", [
    "https://api.intra.42.fr", "https://api.intra.42.fr/", "http://127.0.0.1:8080", "http://127.3.4.5",
    "http://localhost:9000", "http://[::1]:9000", "https://10.0.0.5/proxy",
])
def test_api_root_accepts_https_and_plain_http_to_loopback(root):
    assert read_setting({"API_ROOT": root}, "API_ROOT") == root.rstrip("/")


@pytest.mark.parametrize("root", ["http://api.intra.42.fr", "http://10.0.0.5:8080", "http://[2001:db8::1]/",
                                  "http://localhost.example.org", "http://user:hunter2@api.example.org"])
def test_api_root_refuses_plain_http_to_another_machine_in_one_line(root):
    with pytest.raises(ConfigError) as refused:
        read_setting({"API_ROOT": root}, "API_ROOT")
    message = str(refused.value)
    assert "in clear" in message and "https://" in message and "\n" not in message
    assert "hunter2" not in message  # a URL may carry a password: never echoed


@pytest.mark.parametrize("root", ["api.intra.42.fr", "ftp://api.intra.42.fr", "https://", "https:///v2",
                                  "http://[::1", "file:///etc/passwd"])
def test_api_root_refuses_what_is_not_an_http_url_with_a_host(root):
    with pytest.raises(ConfigError, match="API_ROOT is not an http\\(s\\) URL with a host"):
        read_setting({"API_ROOT": root}, "API_ROOT")


@pytest.mark.parametrize("key", ["USERS_SCHEMA", "RAW_SCHEMA"])
@pytest.mark.parametrize("name", ["public", "ft42_raw", "_x", "a" * 63])
def test_schema_names_dlt_keeps_unchanged_are_accepted(key, name):
    assert read_setting({key: name}, key) == name


@pytest.mark.parametrize("key", ["USERS_SCHEMA", "RAW_SCHEMA"])
@pytest.mark.parametrize("name", ['x"; drop table canary; --', "Public", "42school", "my schema", "a" * 64,
                                  "x\ny", "ft42-raw", "é"])
def test_schema_names_dlt_would_rename_are_refused_in_one_line(key, name):
    with pytest.raises(ConfigError) as refused:
        read_setting({key: name}, key)
    assert str(refused.value).startswith(f"{key}=") and "\n" not in str(refused.value)
    assert "plain lower-case name" in str(refused.value)


@pytest.mark.parametrize("name", ["a/b", "..", "x" * 64, "nul\0"])
def test_database_names_that_cannot_exist_or_would_escape_a_path_are_refused(name):
    with pytest.raises(ConfigError, match="DB_NAME="):
        read_setting({"DB_NAME": name}, "DB_NAME")


@pytest.mark.parametrize("key, raw, problem", [
    ("DB_PORT", "abc", "must be a whole number"), ("DB_PORT", "70000", "between 1 and 65535"),
    ("CURSUS_ID", "0", "at least 1"), ("MAX_REMOVED_SHARE", "2", "between 0 and 1"),
    ("MAX_REMOVED_SHARE", "nan", "between 0 and 1"), ("INCREMENTAL_LAG_MINUTES", "-5", "at least 0"),
    ("RUN_DEADLINE_MINUTES", "0", "at least 0.05"), ("FRESHNESS_WARN_HOURS", "1.5", "whole number"),
])
def test_unusable_numbers_are_refused_with_the_key_and_the_value(key, raw, problem):
    with pytest.raises(ConfigError) as refused:
        read_setting({key: raw}, key)
    assert str(refused.value).startswith(f"{key}={raw!r} ") and problem in str(refused.value)


@pytest.fixture
def restore_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keep_private_closes_the_checkout_data_dirs_but_lets_the_server_user_traverse(tmp_path, restore_umask):
    root = tmp_path / "checkout"
    for directory in (".data/dlt/pipelines", ".data/postgres", "logs", "exports/08_users"):
        (root / directory).mkdir(parents=True, mode=0o755)
        (root / directory).chmod(0o755)
    files = [root / ".data/dlt/pipelines/load.parquet", root / "logs/update_users.log",
             root / "logs/cron.log", root / "exports/08_users/all.json"]
    for file in [*files, root / ".data/postgres/PG_VERSION"]:
        file.write_text("x")
        file.chmod(0o644)
    (root / ".data").chmod(0o755)

    outside = tmp_path / "elsewhere"
    (outside / "export").mkdir(parents=True)
    (outside / "export").chmod(0o755)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (outside / "ft42.log").write_text("x")
    (outside / "ft42.log").chmod(0o644)
    env = {"EMBEDDED_DB_DIR": str(root / ".data/postgres"), "EXPORT_DIR": str(outside / "export"),
           "SYNC_LOG_FILE": str(outside / "ft42.log"), "DLT_DATA_DIR": str(shared)}

    private_files.keep_private(env, project_root=root)

    assert os.umask(0o022) == 0o077
    assert all(mode(f) == 0o600 for f in files)
    assert mode(root / ".data") == 0o711  # execute kept: the server's OS user passes through
    assert mode(root / "logs") == 0o711 and mode(root / ".data/dlt/pipelines") == 0o711
    assert mode(root / ".data/postgres/PG_VERSION") == 0o644  # the server's own directory: left alone
    assert mode(outside / "export") == 0o711 and mode(outside / "ft42.log") == 0o600
    assert mode(shared) == 0o1777  # a shared sticky directory is not ours to close


@pytest.mark.parametrize("raw, level", [("", "INFO"), ("debug", "DEBUG"), ("WARNING", "WARNING")])
def test_log_level(raw, level):
    assert read_setting({"LOG_LEVEL": raw}, "LOG_LEVEL") == level


def test_an_unknown_log_level_is_refused():
    with pytest.raises(ConfigError, match="LOG_LEVEL='loud' must be DEBUG, INFO, WARNING or ERROR"):
        read_setting({"LOG_LEVEL": "loud"}, "LOG_LEVEL")
