"""One sync in-process, with dlt's own step timings: where does the time go?

    BENCH_PROFILE_OUT=out.json python -m tests.bench.profile_steps   # + the sync's env vars

Runs the product's entry point unchanged (`pipelines.ft42_pipeline.main`), then reads what dlt
and dbt recorded about that run: the pipeline trace (extract = token + HTTP fetch + dlt's item
processing, normalize, load = COPY/INSERT into the raw schema + merge) and dbt's run_results.json
(per model/test). The parent (run_bench) timestamps this process's output lines for the rest.
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


def dbt_node_seconds(since: float) -> dict[str, float]:
    """Per-node execution times from this run's run_results.json, wherever the sync sent dbt's
    target dir: DBT_TARGET_PATH, dbt_project/target, or (today) .data/dbt/<host>-<port>-<db>."""
    env = os.environ
    roots = [Path(env.get("DBT_TARGET_PATH", "dbt_project/target")), Path("dbt_project/target"),
             *Path(".data/dbt").glob(f"*-{env['DB_PORT']}-{env['DB_NAME']}")]
    found = [path for root in roots if (path := root / "run_results.json").exists()
             and path.stat().st_mtime >= since]
    if not found:
        return {}
    results = json.loads(max(found, key=lambda path: path.stat().st_mtime).read_text())["results"]
    return {result["unique_id"]: result["execution_time"] for result in results}


def main() -> int:
    out = Path(os.environ["BENCH_PROFILE_OUT"])
    token = token_seconds()
    import dlt

    from pipelines import ft42_pipeline

    started = time.time()
    status = ft42_pipeline.main([])
    trace = dlt.current.pipeline().last_trace
    steps = {step.step: (step.finished_at - step.started_at).total_seconds()
             for step in trace.steps if step.finished_at and step.step != "run"}

    dbt_nodes = dbt_node_seconds(started)
    out.write_text(json.dumps({"status": status, "token_s": token,
                               "dlt_steps_s": steps, "dbt_nodes_s": dbt_nodes}, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
