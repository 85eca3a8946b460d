"""projects_users' dbt build at scale, for scenario 8: tests/dbt_dev/mirror_check.py --scale N,
with each `dbt build` also timed by dbt itself (run_results.json's `elapsed_time`: the nodes'
execution, without the process start and the project's parse, which the sync does while it
fetches).

    python -m tests.bench.dbt_at_scale ROWS

Prints mirror_check's line (the builds' wall times), then
`dbt elapsed: full build X s, build after 1 % changed Y s`, then each build's longest nodes.
"""

from __future__ import annotations

import json
import sys

from tests.dbt_dev import mirror_check

elapsed: list[float] = []
longest: list[str] = []  # per build, its slowest nodes


def timed_build(env: dict, tables: list, target):
    """mirror_check's dbt_build, noting dbt's own elapsed time of each build."""
    result = original_build(env, tables, target)
    results = json.loads((target / "run_results.json").read_text())
    elapsed.append(results["elapsed_time"])
    nodes = sorted(results["results"], key=lambda node: -node["execution_time"])[:6]
    longest.append(", ".join(f"{node['unique_id'].split('.', 2)[2]} {node['execution_time']:.1f} s" for node in nodes))
    return result


original_build = mirror_check.dbt_build


def main() -> int:
    sys.argv = [sys.argv[0], "--scale", sys.argv[1]]
    mirror_check.dbt_build = timed_build
    status = mirror_check.main()
    # The scale timing's two builds are the last two.
    print(f"dbt elapsed: full build {elapsed[-2]:.1f} s, build after 1 % changed {elapsed[-1]:.1f} s", flush=True)
    print(f"longest nodes, full build: {longest[-2]}\nlongest nodes, after 1 % changed: {longest[-1]}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
