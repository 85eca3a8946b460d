"""projects_users' dbt build at scale, for scenario 8: tests/dbt_dev/mirror_check.py --scale N,
which prints each timed build's time (dbt's own, and the whole `dbt build` process), plus each
timed build's slowest nodes.

    python -m tests.bench.dbt_at_scale ROWS
"""

from __future__ import annotations

import json
import sys

from tests.dbt_dev import mirror_check

original_build = mirror_check.dbt_build
longest: list[str] = []  # of each build timed by mirror_check, its slowest nodes


def build_noting_its_slowest_nodes(env: dict, tables: list, target, elapsed: bool = False):
    result = original_build(env, tables, target, elapsed)
    if elapsed:
        nodes = json.loads((target / "run_results.json").read_text())["results"]
        nodes = sorted(nodes, key=lambda node: -node["execution_time"])[:6]
        longest.append(", ".join(f"{node['unique_id'].split('.', 2)[2]} {node['execution_time']:.1f} s"
                                 for node in nodes))
    return result


def main() -> int:
    sys.argv = [sys.argv[0], "--scale", sys.argv[1]]
    mirror_check.dbt_build = build_noting_its_slowest_nodes
    status = mirror_check.main()
    for build, nodes in zip(("full build", "1 % changed, basis unchanged", "1 % changed, a pass completed"), longest):
        print(f"slowest nodes, {build}: {nodes}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
