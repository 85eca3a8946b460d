"""ft42: the 42 cursus students in PostgreSQL. `run_sync` runs one sync from Python (pipelines.run).

Nothing heavy is imported until it is used: `ft42 --help` and `python -m pipelines.cron` stay quick.
"""

from __future__ import annotations

__all__ = ["SyncResult", "run_sync"]


def __getattr__(name: str):
    if name in __all__:
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
