"""One sync in-process, with dlt's own step timings: where does the time go?

    BENCH_PROFILE_OUT=out.json python -m tests.bench.profile_steps   # + the sync's env vars

Runs the product's entry point unchanged (`pipelines.ft42_pipeline.main`), then reads what dlt
and dbt recorded about that run: the pipeline trace (extract = token + HTTP fetch + dlt's item
processing, normalize, load = COPY/INSERT into the raw schema + merge) and dbt's
run_results.json (per model/test), which the sync's dbt process writes into the warehouse's dbt
folder after the sync has its answer. The parent (run_bench) timestamps this process's output
lines for the rest.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import requests


def token_seconds() -> float:
    """One OAuth token request, as the sync makes it first (measured apart: dlt does not say)."""
    started = time.monotonic()
    requests.post(f"{os.environ['API_ROOT']}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": os.environ["CLIENT_ID"],
        "client_secret": os.environ["CLIENT_SECRET"],
    }, headers={"User-Agent": "ft42-bench/1.0"}, timeout=60).raise_for_status()
    return time.monotonic() - started


def dbt_node_seconds(run_results: Path) -> dict[str, float]:
    """Per-node execution times from the run_results.json the sync's dbt process writes once the
    sync has its answer: waited for (up to a minute), as the sync does not wait for it."""
    deadline = time.monotonic() + 60
    while not run_results.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    results = json.loads(run_results.read_text())["results"]
    return {node["unique_id"]: node["execution_time"] for node in results}


def main() -> int:
    out = Path(os.environ["BENCH_PROFILE_OUT"])
    token = token_seconds()
    import dlt

    from pipelines import ft42_pipeline
    from pipelines.dbt_build import dbt_target_path
    from pipelines.settings import load_settings

    run_results = dbt_target_path(load_settings(os.environ).db) / "run_results.json"
    run_results.unlink(missing_ok=True)  # an earlier run's

    status = ft42_pipeline.main([])
    trace = dlt.current.pipeline().last_trace
    steps = {step.step: (step.finished_at - step.started_at).total_seconds()
             for step in trace.steps if step.finished_at and step.step != "run"}

    dbt_nodes = dbt_node_seconds(run_results)
    out.write_text(json.dumps({"status": status, "token_s": token,
                               "dlt_steps_s": steps, "dbt_nodes_s": dbt_nodes}, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
