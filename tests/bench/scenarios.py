"""The five scenarios and the profile: each measures with a Bench and returns its table rows."""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field

from pipelines.ft42 import PAGE_SIZE, declaration
from tests.bench.harness import MARKS, Bench, BenchFailed, EmulatorProcess, Run
from tests.bench.report import table

# ------------------------------------------------------------------------------------ results

WHOLE_UNITS = ("requests", "MiB", "users", "tables", "rows")  # shown without decimals

@dataclass
class Row:
    scenario: str
    measure: str
    values: list[float]
    unit: str = ""
    target: str = ""
    met: bool | None = None      # None: information only

    def cells(self) -> list[str]:
        fmt = (lambda v: f"{v:,.0f}") if self.unit in WHOLE_UNITS else (lambda v: f"{v:,.2f}")
        med = fmt(median(self.values))
        lo, hi = (fmt(min(self.values)), fmt(max(self.values))) if len(self.values) > 1 else ("", "")
        met = "" if self.met is None else ("yes" if self.met else "**no**")
        return [self.scenario, self.measure, f"{med} {self.unit}".strip(), lo, hi, self.target, met]


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


# What the sync's ledger says of each table its run listed: (table, X-Total, planned requests,
# requests the listing sent).
LISTINGS = """
    select table_name, listed_total, planned_requests, api_requests
    from public.sync_tables
    where run_id = (select max(run_id) from public.sync_runs)
    order by table_name
"""


def minimum_requests(totals: list[int]) -> int:
    """The fewest page requests that can return every record of the listings: a full page of
    PAGE_SIZE per request, X-Total (`totals`) records each."""
    return sum(math.ceil(total / PAGE_SIZE) for total in totals)


# A sync of every table listed whole in one run (TABLES): the big tables, backfilled across runs,
# are scenarios 6-8's.
LISTED_IN_ONE_RUN = ",".join(listing.table for listing in declaration.listings() if listing.keep_current != "backfill")
# An hourly budget the paced full-size run cannot reach (2 req/s for an hour): at the default
# 1,200 req/h a full sync of these tables at 40,335 students would leave one for a later run.
HOURLY_UNBOUND = 2 * 3600


def every_table_run(bench: Bench, emu: EmulatorProcess) -> tuple[Run, dict, list[tuple]]:
    """One full sync of the tables listed whole in one run into a fresh database: the run, the
    emulator's count of what it was sent, the ledger's line per listing."""
    emu.ask("reset")
    env = bench.fresh_target(emu.url, tables=LISTED_IN_ONE_RUN)
    run = bench.measure("pipelines.ft42_pipeline", env, keep=True)
    count = emu.count()
    listings = bench.query(LISTINGS)
    bench.done_with(env)
    if len(listings) < 2 or any(total is None for _, total, _, _ in listings):
        raise BenchFailed(f"the every-table sync planned {listings!r}: expected every table, each sized")
    return run, count, listings


def paced_runs(bench: Bench, students: int, rate_per_hour: int, runs: int) -> dict[str, list[float]]:
    """Full syncs at 2 req/s, a fresh emulator each (a run spends the hourly budget): wall time,
    its floor (every admitted /v2 request spends the 2-per-second budget), 429s, sent / planned."""
    measured = {"wall": [], "floor": [], "ratio": [], "refused": [], "vs_plan": []}
    for _ in range(runs):
        with EmulatorProcess(bench, students, rate_per_second=2, rate_per_hour=rate_per_hour) as emu:
            run, count, listings = every_table_run(bench, emu)
        floor = count["list_ok"] / 2
        measured["wall"].append(run.wall)
        measured["floor"].append(floor)
        measured["ratio"].append(run.wall / floor)
        measured["refused"].append(count["list_429"])
        measured["vs_plan"].append(sum(sent for *_, sent in listings) / sum(planned for *_, planned, _ in listings))
    return measured


def scenario_every_table(bench: Bench) -> list[Row]:
    """A full sync of every table listed whole in one run: requests against the minimum and
    peak RSS, unlimited; wall time against the request floor at 2 req/s, one run at the full
    size (its hourly budget out of reach: ~11 minutes); at 1,200 req/h and the rate scenario's
    size, that the plan holds (no 429, requests as planned)."""
    n, n_rate = bench.sizes.full, bench.sizes.rate
    requests, minimums, ratios, rss, walls = [], [], [], [], []
    with EmulatorProcess(bench, n) as emu:
        for _ in range(bench.sizes.runs):
            run, count, listings = every_table_run(bench, emu)
            minimum = minimum_requests([total for _, total, _, _ in listings])
            requests.append(count["total"])
            minimums.append(minimum)
            ratios.append(count["total"] / minimum)
            rss.append(run.rss_mb)
            walls.append(run.wall)
    tables = ", ".join(table for table, *_ in listings)
    name = f"5. every table, {n:,} users"
    rows = [
        Row(name, f"tables listed in full: {tables}", [len(listings)], "tables"),
        Row(name, "sync wall time, no rate limit", walls, "s"),
        Row(name, "API requests (token, one size request per listing, pages)", requests, "requests"),
        Row(name, "minimum: Σ ceil(X-Total / 100) over the listings", minimums, "requests"),
        Row(name, "requests / minimum", ratios, "×", "≤ 1.02", check(ratios, 1.02)),
        Row(name, "sync peak RSS", rss, "MiB", "≤ 400 MB", check(rss, 400 * 1e6 / 2**20)),
    ]
    full = paced_runs(bench, n, HOURLY_UNBOUND, runs=1)
    name = f"5. every table, 2 req/s, {n:,} users, one run"
    rows += [
        Row(name, "sync wall time", full["wall"], "s"),
        Row(name, "request floor (list requests / 2 s)", full["floor"], "s"),
        Row(name, "requests refused with 429", full["refused"], "requests"),
        Row(name, "wall time / floor", full["ratio"], "×", "≤ 1.10", check(full["ratio"], 1.10)),
    ]
    budgeted = paced_runs(bench, n_rate, 1200, runs=bench.sizes.runs)
    name = f"5. every table, 2 req/s, 1,200 req/h, {n_rate:,} users"
    return rows + [
        Row(name, "sync wall time", budgeted["wall"], "s"),
        Row(name, "wall time / floor (a run's fixed cost weighs more at this size)", budgeted["ratio"], "×"),
        Row(name, "requests refused with 429", budgeted["refused"], "requests", "0", max(budgeted["refused"]) == 0),
        Row(name, "requests sent / planned (the listings)", budgeted["vs_plan"], "×", "within 2 %",
            all(abs(ratio - 1) <= 0.02 for ratio in budgeted["vs_plan"])),
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
    run = bench.measure("tests.bench.profile_steps", {**env, "BENCH_PROFILE_OUT": str(out)}, keep=True)
    statements = bench.statement_times()
    bench.done_with(env)
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
    if statements is None:
        on_server = ("Server side: no split (pg_stat_statements is not installed in the server's "
                     "`postgres` database).")
    else:
        on_server = "\n\n".join([
            f"Server side (pg_stat_statements, the same sync): {len(statements)} distinct statements, "
            f"{sum(ms for ms, _, _ in statements) / 1000:.2f} s of execution in all; the longest:",
            table([[f"{ms / 1000:.2f} s", str(calls), f"`{text}`"] for ms, calls, text in statements[:8]],
                  ["time", "calls", "statement (start)"]),
        ])
    return "\n\n".join([
        f"Coarse (the {len(full.sync)} measured syncs of scenario 1; median, min–max):",
        table([[name, f"{median(v):.2f} s", f"{min(v):.2f}–{max(v):.2f}"] for name, v in coarse],
              ["span", "median", "range"]),
        "Fine (one sync in-process via `tests/bench/profile_steps.py`: dlt's trace, dbt's run_results.json):",
        table([[name, f"{seconds:.2f} s"] for name, seconds in fine], ["step", "time"]),
        on_server,
    ])


# ------------------------------------------------------------------- 6. the big tables (passes)

HOURLY_BUDGET = 1_200
# What the ledger's passes have seen of each big table, all passes summed.
PASS_ROWS = "select table_name, sum(rows_seen) from public.sync_passes group by table_name order by table_name"


def pass_pages(pages: dict, tables: list[str]) -> int:
    """The pages of the passes' chunks among the emulator's `pages` answer (a big table's route is
    its name: no cursus in its path)."""
    return sum(pages.get(table, {}).get("pages", 0) for table in tables)


def scenario_big_tables(bench: Bench) -> list[Row]:
    """Two backfill runs of every table at the full size, an hour apart, on the real hourly budget
    (unpaced per second: the per-second pace only stretches the wall time, which scenario 5
    measures): the share of the budget each run spends, 429s, items per pass page, peak RSS."""
    n = bench.sizes.full
    spent, refused, rss, walls = [], [], [], []
    pages_seen = 0
    with EmulatorProcess(bench, n, rate_per_hour=HOURLY_BUDGET) as emu:
        env = bench.fresh_target(emu.url, tables="")
        for hour in range(2):
            if hour:
                emu.ask("next_hour")
            emu.ask("reset")
            run = bench.measure("pipelines.ft42_pipeline", env, keep=True)
            count = emu.count()
            spent.append(count["list_ok"] / HOURLY_BUDGET)
            refused.append(count["list_429"])
            rss.append(run.rss_mb)
            walls.append(run.wall)
            passes = bench.query(PASS_ROWS)
            pages_seen += pass_pages(emu.pages(), [table for table, _ in passes])
        bench.done_with(env)
    if not passes:
        raise BenchFailed("the backfill runs started no pass: is a big table declared?")
    per_page = sum(rows for _, rows in passes) / pages_seen
    name = f"6. backfill, {n:,} users, {HOURLY_BUDGET:,} req/h, 2 runs an hour apart"
    tables = ", ".join(table for table, _ in passes)
    return [
        Row(name, "run 1 (every table due, then the passes): requests / hourly budget", spent[:1], "×",
            "≥ 0.95", spent[0] >= 0.95),
        Row(name, "run 2 (the passes, windows): requests / hourly budget", spent[1:], "×", "≥ 0.95",
            spent[1] >= 0.95),
        Row(name, "requests refused with 429 (both runs)", [sum(refused)], "requests", "0", sum(refused) == 0),
        Row(name, f"rows per page of the passes ({tables})", [per_page], "rows/page", "≥ 99",
            per_page >= 99),
        Row(name, "sync peak RSS (each run)", rss, "MiB", "≤ 500 MB", max(rss) <= 500 * 1e6 / 2**20),
        Row(name, "sync wall time (each run)", walls, "s"),
    ]


def scenario_incremental_every_table(bench: Bench) -> list[Row]:
    """Every table once the backfill is complete, after 1 % of the rows changed: one run on the
    hourly budget. At the rate scenario's size: completing the backfill first at the full size
    (~28,000 requests) would take most of the bench."""
    n = bench.sizes.rate
    with EmulatorProcess(bench, n) as emu:  # unlimited: the backfill completes in one run
        env = bench.fresh_target(emu.url, tables="")
        bench.measure("pipelines.ft42_pipeline", env, keep=True)
        incomplete = bench.query("select table_name from public.sync_passes where completed_at is null")
        if incomplete:
            raise BenchFailed(f"the unlimited first run left passes incomplete: {incomplete!r}")
        changed = json.loads(emu.ask("mutate-tables 1").split(maxsplit=1)[1])
        emu.ask(f"rate-per-hour {HOURLY_BUDGET}")
        emu.ask("next_hour")
        emu.ask("reset")
        run = bench.measure("pipelines.ft42_pipeline", env, keep=True)
        count, pages = emu.count(), emu.pages()
        big = [table for table, _ in bench.query(PASS_ROWS)]
        bench.done_with(env)
    windows = sum(route["window_pages"] + route["size_requests"] for route in pages.values())
    name = f"7. every table after 1 % changed, {n:,} users, backfill complete, {HOURLY_BUDGET:,} req/h"
    return [
        Row(name, "rows changed in the API: " + ", ".join(f"{t} {c:,}" for t, c in changed.items()),
            [sum(changed.values())], "rows"),
        Row(name, "requests of the windows and full listings due (size requests included)",
            [windows + sum(route["pages"] for table, route in pages.items() if table not in big)], "requests"),
        Row(name, f"requests of the reconcile passes ({', '.join(big) or 'none'}): the spare budget",
            [pass_pages(pages, big)], "requests"),
        Row(name, "all list requests / hourly budget", [count["list_ok"] / HOURLY_BUDGET], "×"),
        Row(name, "sync wall time", [run.wall], "s"),
    ]


# tests/dbt_dev/mirror_check.py --scale: each timed build's `dbt's own s / whole process s`.
BUILD_TIMES = {build: re.compile(rf"{re.escape(build)} +([0-9.]+) s / +([0-9.]+) s")
               for build in ("full build", "1 % changed, basis unchanged", "1 % changed, a pass completed")}


def scenario_dbt_at_scale(bench: Bench) -> list[Row]:
    """projects_users' dbt build at 50 rows a student (~2M at the full size): a full build, then
    1 % of the rows changed under a new load id, then 1 % again with a pass completing
    (tests/bench/dbt_at_scale.py: raw and ledger rows written by SQL by
    tests/dbt_dev/mirror_check.py --scale, its own embedded PostgreSQL, no API). dbt's own
    elapsed time (run_results.json: the nodes, without the process's start and the project's
    parse, which the sync does before the fetch ends, in its prewarmed dbt process) carries
    the goal; the whole `dbt build` process's wall time is shown beside it."""
    rows = 50 * bench.sizes.full // 100 * 100  # whole hundreds: mirror_check changes every 100th row
    run = bench.measure_command("tests.bench.dbt_at_scale", str(rows))
    found = {build: pattern.search(run.output) for build, pattern in BUILD_TIMES.items()}
    if not all(found.values()):
        raise BenchFailed(f"tests/bench/dbt_at_scale.py printed no timing; its output is in {bench.log.name}")
    (full_dbt, full), (changed_dbt, changed), (moved_dbt, moved) = (
        (float(match.group(1)), float(match.group(2))) for match in found.values())
    name = f"8. dbt on projects_users, {rows:,} rows"
    return [
        Row(name, "full build, dbt's elapsed (the nodes, no start or parse)", [full_dbt], "s"),
        Row(name, "after 1 % changed, dbt's elapsed", [changed_dbt], "s"),
        Row(name, "after 1 % changed / full, dbt's elapsed", [changed_dbt / full_dbt], "×", "≤ 0.2",
            changed_dbt / full_dbt <= 0.2),
        Row(name, "after 1 % changed and a pass completed / full, dbt's elapsed", [moved_dbt / full_dbt], "×"),
        Row(name, "full build, `dbt build` process wall time", [full], "s"),
        Row(name, "after 1 % changed, process wall time", [changed], "s"),
        Row(name, "after 1 % changed / full, process wall time", [changed / full], "×"),
    ]
