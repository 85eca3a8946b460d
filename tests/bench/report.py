"""The report's parts: markdown tables, the machine, server and code measured, and RESULTS.md,
which keeps the latest full run against each kind of server in a section of its own."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from tests.bench.harness import ROOT, Bench

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
RESULTS_TITLE = "# Sync benchmark"
RESULTS_INTRO = (
    "One section per PostgreSQL server, each the latest full `make bench` against it: the embedded "
    "server by default, `DB_HOST=… make bench` for another (see the README's Performance section). "
    "A section headed `every table alone` (scenario 5, `--only-every-table`) or `big tables alone` "
    "(scenarios 6-8, `--only-big-tables`) is those scenarios run by themselves, newer than its server's "
    "full section: the next full run, which measures them too, replaces it.")
EVERY_TABLE, BIG_TABLES = "every table", "big tables"
ALONE = {
    EVERY_TABLE: ("Scenario 5 alone (`--only-every-table`): the other sections of this file are older runs "
                  "of the whole bench, from before every table was synced."),
    BIG_TABLES: ("Scenarios 6-8 alone (`--only-big-tables`): the other sections of this file are older runs "
                 "of the whole bench, from before the big tables were synced."),
}


def table(rows: list[list[str]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def code_version(ref: str | None) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if ref is None:
        return f"working tree at `{git('describe', '--always', '--dirty')}`"
    return f"commit `{ref}` (git archive; harness from the working tree)"


def server_heading(bench: Bench) -> str:
    """The section a run's report goes to: one per major version and kind of server."""
    major = bench.admin("select current_setting('server_version_num')::int / 10000")[0]
    return f"## PostgreSQL {major} ({'embedded' if bench.server.embedded else 'server from DB_HOST'})"


def sections(document: str) -> dict[str, str]:
    """RESULTS.md's sections by heading (`## …` line), each with its heading."""
    parts = re.split(r"^(?=## )", document, flags=re.MULTILINE)
    return {part.splitlines()[0]: part.rstrip("\n") for part in parts if part.startswith("## ")}


def alone_heading(heading: str, scenarios: str = EVERY_TABLE) -> str:
    """The section of `scenarios` (a key of ALONE) run alone on the server whose full runs go to `heading`."""
    return f"{heading}: {scenarios} alone"


def _document(kept: dict[str, str]) -> str:
    order = sorted(kept, key=lambda heading: ("(embedded)" not in heading, heading))  # the default first
    return "\n\n".join([RESULTS_TITLE, RESULTS_INTRO, *(kept[heading] for heading in order)]) + "\n"


def with_section(document: str, section: str) -> str:
    """`document` (RESULTS.md's text, or "") with `section` replacing the one of the same heading."""
    kept = sections(document)
    kept[section.splitlines()[0]] = section.rstrip("\n")
    return _document(kept)


def without_section(document: str, heading: str) -> str:
    """`document` without the section headed `heading` (unchanged if it has none)."""
    kept = sections(document)
    if heading not in kept:
        return document
    del kept[heading]
    return _document(kept)


def last_duration(document: str, heading: str) -> str | None:
    """How long the last full run into `heading`'s section took, as it says ("5.3 min")."""
    found = re.search(r"took ([0-9.]+ min)", sections(document).get(heading, ""))
    return found.group(1) if found else None


def machine(bench: Bench, ref: str | None, code_at_start: str, load_at_start: float) -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    mem_kib = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")))
    pg_version = bench.admin("select current_setting('server_version')")[0]
    # What the server's results depend on besides its version (a server from DB_HOST is
    # whatever its administrator made it).
    pg_settings = bench.admin(
        "select string_agg(format('%s=%s', name, current_setting(name)), ', ' order by name) "
        "|| case when pg_jit_available() then ' (JIT available)' else ' (no JIT in this build)' end "
        "from unnest(array['shared_buffers', 'synchronous_commit', 'fsync', 'jit']) as name")[0]
    collation = bench.admin("select datcollate from pg_database where datname = current_database()")[0]
    at_end = code_version(ref)
    # The working tree is shared: say so when it moved while the bench ran.
    code = at_end if at_end == code_at_start else f"{code_at_start} → {at_end}"
    return "\n".join([
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}; code: {code}",
        f"- CPU: {model}, {os.cpu_count()} cores; RAM: {mem_kib / 2**20:.1f} GiB; "
        f"1-min load average {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
        "(anything else running shares these cores)",
        f"- {bench.server.describe(pg_version)}; {pg_settings}, collation {collation}",
        f"- Python {platform.python_version()}, dlt {version('dlt')}, dbt-core {version('dbt-core')}",
        "- emulator: its own process (tests/bench/emulator_proc.py)",
    ])
