"""Settings from the environment and `.env`, under the old system's key names.

Variables already set in the environment win over `.env`: cron and CI set them that way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DATA_DIR = PROJECT_ROOT / ".data"
LOG_FILE = PROJECT_ROOT / "logs" / "update_users.log"

DEFAULT_API_ROOT = "https://api.intra.42.fr"
DEFAULT_EMBEDDED_PORT = 54329


class ConfigError(Exception):
    """A setting is missing or unusable; the message tells the user which and what to do."""


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
    """When to list everyone, and how far back an incremental window reaches."""

    force_full: bool
    full_max_age_hours: float
    lag_minutes: float
    max_removed_share: float
    export_dir: Path  # where the old system's export and fetch metadata files live
    run_deadline_minutes: float = 45


@dataclass(frozen=True)
class Settings:
    api: ApiSettings
    db: DbSettings
    sync: SyncSettings


def read_environment(env_file: Path = PROJECT_ROOT / ".env") -> dict[str, str]:
    """The effective variables: `.env` values overlaid by the real environment."""
    file_values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    return {**file_values, **os.environ}


def number_setting(env: Mapping[str, str], key: str, default: float, parse: type = int):
    raw = env.get(key) or str(default)
    try:
        return parse(raw)
    except ValueError:
        kind = "a whole number" if parse is int else "a number"
        raise ConfigError(f"{key} must be {kind}, got {raw!r}") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = read_environment() if env is None else env
    api = ApiSettings(
        root=(env.get("API_ROOT") or DEFAULT_API_ROOT).rstrip("/"),
        client_id=env.get("CLIENT_ID", ""),
        client_secret=env.get("CLIENT_SECRET", ""),
        client_secret_next=env.get("CLIENT_SECRET_NEXT") or None,
        cursus_id=number_setting(env, "CURSUS_ID", 21),
    )
    host = env.get("DB_HOST") or None
    db = DbSettings(
        host=host,
        port=number_setting(env, "DB_PORT", 5432),
        name=env.get("DB_NAME") or "ft42",
        user=env.get("DB_USER") or "postgres",
        password=env.get("DB_PASSWORD", ""),
        users_schema=env.get("USERS_SCHEMA") or "public",
        raw_schema=env.get("RAW_SCHEMA") or "ft42_raw",
        embedded_dir=Path(env.get("EMBEDDED_DB_DIR") or DATA_DIR / "postgres"),
        embedded_port=number_setting(env, "EMBEDDED_DB_PORT", DEFAULT_EMBEDDED_PORT),
    )
    sync = SyncSettings(
        force_full=(env.get("FULL") or "0").lower() not in ("0", "", "false", "no"),
        full_max_age_hours=number_setting(env, "FULL_SYNC_MAX_AGE_HOURS", 24, float),
        lag_minutes=number_setting(env, "INCREMENTAL_LAG_MINUTES", 10, float),
        max_removed_share=number_setting(env, "MAX_REMOVED_SHARE", 0.05, float),
        export_dir=Path(env.get("EXPORT_DIR") or PROJECT_ROOT / "exports" / "08_users"),
        run_deadline_minutes=number_setting(env, "RUN_DEADLINE_MINUTES", 45, float),
    )
    return Settings(api=api, db=db, sync=sync)


def require_api_credentials(api: ApiSettings) -> None:
    missing = [key for key, value in (("CLIENT_ID", api.client_id), ("CLIENT_SECRET", api.client_secret)) if not value]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} not set: put the 42 application's credentials in .env "
            "(see .env.example), or run `make demo` to try the project against its emulator"
        )
