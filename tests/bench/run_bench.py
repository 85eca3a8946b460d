"""Benchmark of the sync (issue 6): the emulator, a PostgreSQL server, real processes.

    python -m tests.bench.run_bench            # full: 3 runs a scenario, writes tests/bench/RESULTS.md
    python -m tests.bench.run_bench --quick    # smoke test of the harness: 1 run, small sizes
    python -m tests.bench.run_bench --ref HEAD # the committed code, not a tree being edited
    python -m tests.bench.run_bench --only-every-table   # scenario 5 alone, in a section of its own
    python -m tests.bench.run_bench --only-big-tables    # scenarios 6-8 alone, likewise
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
5. full sync of every table listed whole in one run (not the big tables, 6-8's; 1-4 sync users
   alone, as the baseline does): requests vs Σ ceil(X-Total / 100) over
   the listings, peak RSS, at 40k                                          target: ≤ 1.02 ×; ≤ 400 MB
   wall time at 2 req/s vs requests / 2 s, one run at 40k (~11 min)        target: ≤ 1.10 × floor
   at 2 req/s and 1,200 req/h, 4,000 users: 429s, requests vs the plan     target: 0; within 2 %
6. backfill of the big tables (projects_users, achievements_users), every table, at 40k: two runs
   on 1,200 req/h, `next_hour` between: requests / budget each run          target: ≥ 0.95 ×, no 429
   rows per page of the passes' chunks, peak RSS                           target: ≥ 99; ≤ 500 MB
7. every table once the backfill is complete, after 1 % of the rows changed, at 4,000 (the
   backfill to completion at 40k would take most of the bench): requests (windows vs the
   reconcile passes' spare budget) and wall time                           information
8. dbt on projects_users at 50 rows a student (~2M): full build, then 1 % changed
   (tests/dbt_dev/mirror_check.py --scale), dbt's own elapsed time         target: ≤ 0.2 × full
plus a profile of one sync (dlt's step trace, dbt's run_results.json) to show where the time goes.

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
    BIG_TABLES,
    EVERY_TABLE,
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
    scenario_big_tables,
    scenario_dbt_at_scale,
    scenario_every_table,
    scenario_full,
    scenario_incremental,
    scenario_incremental_every_table,
    scenario_memory,
    scenario_rate,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run, small sizes; prints only")
    parser.add_argument("--runs", type=int, help="runs per scenario (default 3, quick 1)")
    parser.add_argument("--ref", help="benchmark this commit (exported with git archive), "
                        "not the working tree")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--only-every-table", action="store_const", const=EVERY_TABLE, dest="only",
                      help="scenario 5 alone (every table); written to a section of its own")
    only.add_argument("--only-big-tables", action="store_const", const=BIG_TABLES, dest="only",
                      help="scenarios 6-8 alone (the big tables); written to a section of its own")
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
        if args.only is None:
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
        if args.only in (None, EVERY_TABLE):
            print("5. every table ...", flush=True)
            rows += scenario_every_table(bench)
        if args.only in (None, BIG_TABLES):
            print("6. backfill of the big tables ...", flush=True)
            rows += scenario_big_tables(bench)
            print("7. every table after 1 % changed ...", flush=True)
            rows += scenario_incremental_every_table(bench)
            print("8. dbt on projects_users at scale ...", flush=True)
            rows += scenario_dbt_at_scale(bench)
        about = machine(bench, args.ref, code, load)
        rows.sort(key=lambda row: row.scenario.split(".")[0])  # stable: scenario order, as run
    finally:
        bench.close()

    section = heading if args.only is None else alone_heading(heading, args.only)
    report = "\n\n".join([
        f"{section}{' (--quick)' if args.quick else ''}",
        f"`{' '.join(['python -m tests.bench.run_bench', *sys.argv[1:]])}` — median of "
        f"{sizes.runs} run(s) per measure, fresh database each run; "
        f"took {(time.monotonic() - started) / 60:.1f} min.",
        *([ALONE[args.only]] if args.only else []),
        about,
        "### Results",
        table([row.cells() for row in rows], ["scenario", "measure", "median", "min", "max", "target", "met"]),
        *(["### Where the time goes", steps] if steps else []),
    ]) + "\n"
    print("\n" + report)
    if not args.quick:
        document = RESULTS.read_text() if RESULTS.exists() else ""
        if args.only is None:  # this run measured every scenario: the runs alone are superseded
            for scenarios in ALONE:
                document = without_section(document, alone_heading(heading, scenarios))
        RESULTS.write_text(with_section(document, report))
        print(f"written to {RESULTS.relative_to(ROOT)}, section {section[3:]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
