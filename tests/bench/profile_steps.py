"""One sync in-process, with dlt's own step timings: where does the time go?

    BENCH_PROFILE_OUT=out.json python -m tests.bench.profile_steps   # + the sync's env vars

Runs the product's entry point unchanged (`pipelines.ft42_pipeline.main`), then reads what dlt
and dbt recorded about that run: the pipeline trace (extract = token + HTTP fetch + dlt's item
processing, normalize, load = COPY/INSERT into the raw schema + merge) and dbt's log, in JSON
(per model/test: the sync's dbt writes no run_results.json). The parent (run_bench) timestamps
this process's output lines for the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
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


def dbt_node_seconds(log_dir: Path) -> dict[str, float]:
    """Per-node execution times from dbt's JSON log of this run (its NodeFinished events)."""
    times = {}
    for line in (log_dir / "dbt.log").read_text().splitlines():
        event = json.loads(line)
        if event["info"]["name"] == "NodeFinished":
            times[event["data"]["node_info"]["unique_id"]] = event["data"]["run_result"]["execution_time"]
    return times


def main() -> int:
    out = Path(os.environ["BENCH_PROFILE_OUT"])
    # The dbt process inherits these: its log of this run alone, one JSON event per line.
    dbt_logs = Path(tempfile.mkdtemp(prefix="ft42-profile-dbt-"))
    os.environ.update(DBT_LOG_PATH=str(dbt_logs), DBT_LOG_FORMAT_FILE="json")
    token = token_seconds()
    import dlt

    from pipelines import ft42_pipeline

    status = ft42_pipeline.main([])
    trace = dlt.current.pipeline().last_trace
    steps = {step.step: (step.finished_at - step.started_at).total_seconds()
             for step in trace.steps if step.finished_at and step.step != "run"}

    dbt_nodes = dbt_node_seconds(dbt_logs)
    shutil.rmtree(dbt_logs)
    out.write_text(json.dumps({"status": status, "token_s": token,
                               "dlt_steps_s": steps, "dbt_nodes_s": dbt_nodes}, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
