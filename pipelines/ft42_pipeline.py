"""The sync's historic entry point, kept for existing scripts: `ft42` (pipelines.cli) is the command line.

    python -m pipelines.ft42_pipeline                 # ft42 sync
    python -m pipelines.ft42_pipeline COMMAND ...     # ft42 COMMAND ... (dbt, docs, psql, db-stop, …)
    python -m pipelines.ft42_pipeline docs-serve [PORT]   # ft42 docs --serve --port PORT
"""

from __future__ import annotations

import sys

from . import cli


def cli_arguments(argv: list[str]) -> list[str]:
    if not argv:
        return ["sync"]
    if argv[0] == "docs-serve":
        return ["docs", "--serve", *(["--port", argv[1]] if argv[1:] else [])]
    return argv


def main(argv: list[str] | None = None) -> int:
    return cli.main(cli_arguments(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.argv[1:] = cli_arguments(sys.argv[1:])
    cli.console_main()
