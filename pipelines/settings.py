"""Settings from the environment and `.env`, under the old system's key names.

Every setting is declared once, in SETTINGS: its key, its default as written in `.env`, how its
text becomes a value (refusing what would go wrong later, with one line saying why), and what it
means. The dataclasses below, `.env.example`, the README's table and dbt's variables
(`warehouse.dbt_environment`) all follow from it; tests/unit/test_settings.py checks the two
documents against it.

Variables already set in the environment win over `.env`: cron and CI set them that way.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DATA_DIR = PROJECT_ROOT / ".data"


class ConfigError(Exception):
    """A setting is missing or unusable; the message tells the user which and what to do."""


# Parsers: text from the environment -> value. A ValueError's message completes "KEY=… …".

def text(raw: str) -> str:
    return raw


def optional_text(raw: str) -> str | None:
    return raw or None


def table_names(raw: str) -> tuple[str, ...] | None:
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    for name in names:
        if not re.fullmatch(r"[a-z_]+", name):
            raise ValueError("must be table names separated by commas, such as users,cursus_users")
    return names or None


def flag(raw: str) -> bool:
    return raw.lower() not in ("0", "", "false", "no")


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("must be a whole number") from None
        if value < low or (high is not None and value > high):
            raise ValueError(f"must be between {low} and {high}" if high is not None else f"must be at least {low}")
        return value
    return parse


def number(low: float, high: float | None = None) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("must be a number") from None
        if not low <= value <= (float("inf") if high is None else high):  # also refuses nan and inf
            raise ValueError(f"must be at least {low:g}" if high is None else f"must be between {low:g} and {high:g}")
        return value
    return parse


def project_path(raw: str) -> Path:
    """Relative paths are taken from the checkout, wherever the command runs from (cron)."""
    return PROJECT_ROOT / Path(raw).expanduser()


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # 127.0.0.0/8 and ::1
    except ValueError:
        return False


def api_root(raw: str) -> str:
    """An https URL; plain http only to this machine (the emulator), since the client secret and
    the bearer token travel in every request."""
    try:
        parts = urlsplit(raw.strip())
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [ in an IPv6 host
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ValueError("is not an http(s) URL with a host: set it to https://api.intra.42.fr "
                         "(or the emulator's http://127.0.0.1:PORT)")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValueError(f"would send the client secret to {host} in clear (plain http): use https://, "
                         "plain http is accepted only for a loopback host such as the emulator on 127.0.0.1")
    return raw.strip().rstrip("/")


# The only names dlt keeps as they are (it turns any other into snake_case lower case), so the
# only ones under which dbt finds what dlt created; being plain, they never need quoting in SQL.
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def schema_name(raw: str) -> str:
    if not SCHEMA_NAME.fullmatch(raw):
        raise ValueError("must be a plain lower-case name (a-z, 0-9 and _, not starting with a digit, "
                         "at most 63 characters): dlt would rename any other and dbt would then not find it")
    return raw


def optional_url(raw: str) -> str | None:
    """An http(s) URL with a host, or nothing. Never echoed: a webhook URL is itself a secret."""
    if not raw:
        return None
    try:
        parts = urlsplit(raw.strip())
        host = parts.hostname
    except ValueError:
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        raise ValueError("is not an http(s) URL with a host")
    return raw.strip()


def log_level(raw: str) -> str:
    name = raw.strip().upper()
    if name not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return name


def database_name(raw: str) -> str:
    # Quoted wherever it reaches SQL; it also names dbt's output folder, hence no path separators.
    if len(raw.encode()) > 63 or "\0" in raw or "/" in raw or raw in (".", ".."):
        raise ValueError("must be a PostgreSQL database name: at most 63 bytes, no '/'")
    return raw


@dataclass(frozen=True)
class Setting:
    key: str
    default: str  # as written in .env; "" = empty
    parse: Callable[[str], Any]
    description: str
    required: bool = False  # the sync refuses to start without it (require_api_credentials)
    echo: bool = True  # a refusal may quote the value (not for a URL, which can carry a password)


SETTINGS: tuple[Setting, ...] = (
    Setting("API_ROOT", "https://api.intra.42.fr", api_root,
            "API base URL (https; plain http only to a loopback host such as the emulator)", echo=False),
    Setting("CLIENT_ID", "", text, "the 42 application's UID", required=True),
    Setting("CLIENT_SECRET", "", text, "the 42 application's secret", required=True),
    Setting("CLIENT_SECRET_NEXT", "", optional_text, "the application's next secret, kept for rotation"),
    Setting("CURSUS_ID", "21", whole_number(1), "cursus whose students are synced"),
    Setting("DB_HOST", "", optional_text, "PostgreSQL server (15 or newer); empty = embedded PostgreSQL"),
    Setting("DB_PORT", "5432", whole_number(1, 65535), "its port"),
    Setting("DB_NAME", "ft42", database_name, "database (must exist on your server; created on the embedded one)"),
    Setting("DB_USER", "postgres", text, "login"),
    Setting("DB_PASSWORD", "", text, "its password; any characters work"),
    Setting("USERS_SCHEMA", "public", schema_name, "schema of the users table and the sync_runs ledger"),
    Setting("RAW_SCHEMA", "ft42_raw", schema_name, "schema of dlt's raw table"),
    Setting("EMBEDDED_DB_PORT", "54329", whole_number(1, 65535), "port of the embedded PostgreSQL"),
    Setting("EMBEDDED_DB_DIR", ".data/postgres", project_path, "data directory of the embedded PostgreSQL"),
    Setting("FULL", "0", flag, "1 = list every selected table in full this run"),
    Setting("TABLES", "", table_names, "the tables a sync lists, comma-separated (empty: every table)"),
    Setting("FULL_SYNC_MAX_AGE_HOURS", "24", number(0), "a full listing runs by itself when the last one is older"),
    Setting("INCREMENTAL_LAG_MINUTES", "10", number(0), "how far before the last run an incremental window starts"),
    Setting("MAX_REMOVED_SHARE", "0.05", number(0, 1),
            "circuit breaker: a run that would remove more of users changes nothing"),
    Setting("RUN_DEADLINE_MINUTES", "45", number(0.05),
            "the whole sync gives up after this long, well under the cron period"),
    Setting("FRESHNESS_WARN_HOURS", "12", whole_number(0), "raw data older than this: freshness warns"),
    Setting("FRESHNESS_ERROR_HOURS", "36", whole_number(0), "raw data older than this: freshness errors"),
    Setting("EXPORT_DIR", "exports/08_users", project_path,
            "where the old .last_fetch_epoch / .last_fetch_stats files and all.json are kept"),
    Setting("SYNC_LOG_FILE", "logs/update_users.log", project_path, "the run log"),
    Setting("DLT_DATA_DIR", ".data/dlt", project_path, "dlt's working directory (its load packages)"),
    Setting("LOG_LEVEL", "INFO", log_level,
            "DEBUG, INFO (the step lines), WARNING or ERROR; dlt's and dbt's debug detail only at DEBUG"),
    Setting("ALERT_WEBHOOK_URL", "", optional_url,
            "a failed sync POSTs a JSON message here (Slack-compatible `text`)", echo=False),
    Setting("HEALTHCHECK_URL", "", optional_url,
            "pinged on start, success (/start, bare URL) and failure (/fail), healthchecks.io style", echo=False),
)
_BY_KEY = {setting.key: setting for setting in SETTINGS}


@dataclass(frozen=True)
class ApiSettings:
    root: str
    client_id: str
    client_secret: str
    client_secret_next: str | None
    cursus_id: int


@dataclass(frozen=True)
class DbSettings:
    """Where the warehouse is. `host=None` means: start the embedded PostgreSQL."""

    host: str | None
    port: int
    name: str
    user: str
    password: str
    users_schema: str
    raw_schema: str
    embedded_dir: Path
    embedded_port: int


@dataclass(frozen=True)
class SyncSettings:
    """When to list everyone, how far back an incremental window reaches, and the run's limits."""

    force_full: bool
    tables: tuple[str, ...] | None  # None: every declared table
    full_max_age_hours: float
    lag_minutes: float
    max_removed_share: float
    export_dir: Path  # where the old system's export and fetch metadata files live
    run_deadline_minutes: float
    freshness_warn_hours: int
    freshness_error_hours: int


@dataclass(frozen=True)
class AlertSettings:
    """Where to tell someone about a run: both optional, neither ever part of a log line."""

    webhook_url: str | None
    healthcheck_url: str | None


@dataclass(frozen=True)
class Settings:
    api: ApiSettings
    db: DbSettings
    sync: SyncSettings
    log_file: Path
    dlt_data_dir: Path
    alerts: AlertSettings
    log_level: str  # the run log reads it itself (pipelines.run_log.configured_level)


def read_environment(env_file: Path = PROJECT_ROOT / ".env") -> dict[str, str]:
    """The effective variables: `.env` values overlaid by the real environment."""
    file_values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    return {**file_values, **os.environ}


def read_setting(env: Mapping[str, str], key: str) -> Any:
    """One setting's value; an empty variable means its default."""
    setting = _BY_KEY[key]
    raw = env.get(key) or setting.default
    try:
        return setting.parse(raw)
    except ValueError as problem:
        raise ConfigError(f"{key}={raw!r} {problem}" if setting.echo else f"{key} {problem}") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = read_environment() if env is None else env

    def get(key: str) -> Any:
        return read_setting(env, key)

    api = ApiSettings(
        root=get("API_ROOT"),
        client_id=get("CLIENT_ID"),
        client_secret=get("CLIENT_SECRET"),
        client_secret_next=get("CLIENT_SECRET_NEXT"),
        cursus_id=get("CURSUS_ID"),
    )
    db = DbSettings(
        host=get("DB_HOST"),
        port=get("DB_PORT"),
        name=get("DB_NAME"),
        user=get("DB_USER"),
        password=get("DB_PASSWORD"),
        users_schema=get("USERS_SCHEMA"),
        raw_schema=get("RAW_SCHEMA"),
        embedded_dir=get("EMBEDDED_DB_DIR"),
        embedded_port=get("EMBEDDED_DB_PORT"),
    )
    sync = SyncSettings(
        force_full=get("FULL"),
        tables=get("TABLES"),
        full_max_age_hours=get("FULL_SYNC_MAX_AGE_HOURS"),
        lag_minutes=get("INCREMENTAL_LAG_MINUTES"),
        max_removed_share=get("MAX_REMOVED_SHARE"),
        export_dir=get("EXPORT_DIR"),
        run_deadline_minutes=get("RUN_DEADLINE_MINUTES"),
        freshness_warn_hours=get("FRESHNESS_WARN_HOURS"),
        freshness_error_hours=get("FRESHNESS_ERROR_HOURS"),
    )
    alerts = AlertSettings(webhook_url=get("ALERT_WEBHOOK_URL"), healthcheck_url=get("HEALTHCHECK_URL"))
    return Settings(api=api, db=db, sync=sync, log_file=get("SYNC_LOG_FILE"), dlt_data_dir=get("DLT_DATA_DIR"),
                    alerts=alerts, log_level=get("LOG_LEVEL"))


def require_api_credentials(api: ApiSettings) -> None:
    missing = [key for key, value in (("CLIENT_ID", api.client_id), ("CLIENT_SECRET", api.client_secret)) if not value]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} not set: put the 42 application's credentials in .env "
            "(see .env.example), or run `make demo` to try the project against its emulator"
        )
