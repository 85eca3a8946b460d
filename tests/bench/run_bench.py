"""Benchmark of the sync (issue 6): the emulator, a PostgreSQL server, real processes.

    python -m tests.bench.run_bench            # full: 3 runs a scenario, writes tests/bench/RESULTS.md
    python -m tests.bench.run_bench --quick    # smoke test of the harness: 1 run, small sizes
    python -m tests.bench.run_bench --ref HEAD # the committed code, not a tree being edited
    python -m tests.bench.run_bench --only-every-table   # scenario 5 alone, in a section of its own
    DB_HOST=db.example DB_PORT=5432 DB_USER=bench DB_PASSWORD=… python -m tests.bench.run_bench

The server is a fresh embedded PostgreSQL in a temp dir, or the one DB_HOST names (DB_PORT,
DB_USER, DB_PASSWORD as for the sync, read from the environment only, never from `.env`): a
login that may create databases, as the bench creates its own (`ft42_bench_<pid>`) and drops it
after each run and at the end. RESULTS.md keeps one section per server (see report.py).

Every measured command is `python -m pipelines.ft42_pipeline` (what `make sync` runs) or the
hand-written baseline (`tests/bench/baseline.py`), each in its own process, against a fresh
database; the emulator runs in another process (tests/bench/emulator_proc.py) so it does not share
a GIL with what is measured. Peak RSS is wait4()'s for the measured process plus the peak of
each process it starts (the sync's dbt process), read from /proc while it runs.

1. full sync, no rate limit: sync wall time vs the baseline's              target: ≤ 2 × baseline
2. full sync at 2 req/s and 1,200 req/h: wall time vs requests / 2 s       target: ≤ 1.10 × floor
3. second sync after 1 % of the users changed: wall time, requests         target: ≤ 15 s
4. peak RSS at 40k and at 10× the users                                    target: ≤ 400 MB; ≤ 1.5×
5. full sync of every table (TABLES empty; 1-4 sync users alone, as the baseline does):
   requests vs Σ ceil(X-Total / 100) over the listings, peak RSS, at 40k   target: ≤ 1.02 ×; ≤ 400 MB
   wall time at 2 req/s vs requests / 2 s, at the rate scenario's 4,000     target: ≤ 1.10 × floor
plus a profile of one sync (dlt's step trace, dbt's log) to show where the time goes.

This module is the command line; harness.py runs the processes and databases, scenarios.py
measures, report.py formats the results.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from pipelines.settings import ConfigError
from tests.bench.harness import FULL, QUICK, ROOT, Bench, BenchFailed, EmulatorProcess, Sizes, server_from_environment
from tests.bench.report import (
    ALONE,
    RESULTS,
    alone_heading,
    code_version,
    last_duration,
    machine,
    server_heading,
    table,
    with_section,
    without_section,
)
from tests.bench.scenarios import (
    profile,
    scenario_every_table,
    scenario_full,
    scenario_incremental,
    scenario_memory,
    scenario_rate,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run, small sizes; prints only")
    parser.add_argument("--runs", type=int, help="runs per scenario (default 3, quick 1)")
    parser.add_argument("--ref", help="benchmark this commit (exported with git archive), "
                        "not the working tree")
    parser.add_argument("--only-every-table", action="store_true",
                        help="scenario 5 alone (every table); written to a section of its own")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.runs:
        sizes = Sizes(sizes.full, sizes.rate, sizes.big, args.runs)

    if args.ref:  # pin it: the branch may move while the bench runs
        args.ref = subprocess.run(["git", "rev-parse", "--short", args.ref], cwd=ROOT, check=True,
                                  capture_output=True, text=True).stdout.strip()
    started, code, load = time.monotonic(), code_version(args.ref), os.getloadavg()[0]
    try:
        bench = Bench(sizes, args.ref, server_from_environment(os.environ))
    except (BenchFailed, ConfigError) as refused:
        print(f"bench failed: {refused}", file=sys.stderr)
        return 1
    try:
        heading = server_heading(bench)
        took_before = last_duration(RESULTS.read_text() if RESULTS.exists() else "", heading)
        print(f"{heading[3:]}: its last full bench took {took_before or '(none recorded yet)'}; "
              f"child output in {bench.log.name}", flush=True)
        rows, steps = [], None
        if not args.only_every_table:
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
        print("5. every table ...", flush=True)
        rows += scenario_every_table(bench)
        about = machine(bench, args.ref, code, load)
        rows.sort(key=lambda row: row.scenario.split(".")[0])  # stable: scenario order, as run
    finally:
        bench.close()

    section = alone_heading(heading) if args.only_every_table else heading
    report = "\n\n".join([
        f"{section}{' (--quick)' if args.quick else ''}",
        f"`{' '.join(['python -m tests.bench.run_bench', *sys.argv[1:]])}` — median of "
        f"{sizes.runs} run(s) per measure, fresh database each run; "
        f"took {(time.monotonic() - started) / 60:.1f} min.",
        *([ALONE] if args.only_every_table else []),
        about,
        "### Results",
        table([row.cells() for row in rows], ["scenario", "measure", "median", "min", "max", "target", "met"]),
        *(["### Where the time goes", steps] if steps else []),
    ]) + "\n"
    print("\n" + report)
    if not args.quick:
        document = RESULTS.read_text() if RESULTS.exists() else ""
        if not args.only_every_table:  # this run measured scenario 5 too: its run alone is superseded
            document = without_section(document, alone_heading(heading))
        RESULTS.write_text(with_section(document, report))
        print(f"written to {RESULTS.relative_to(ROOT)}, section {section[3:]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
