"""A big table's part of a run: its window of changes, then its pass, chunk by chunk.

A pass lists the table by keyset on id from where it stopped. Each chunk is fetched, merged
into the raw table (one dlt load, one transaction), and only then is the pass's position moved
past it in the ledger: a run killed at any moment loses at most the chunk it was fetching, and
the next run fetches that chunk again (the merge on id makes that harmless). When a chunk
reaches the end of the listing the pass is complete: its first load becomes the table's
reference listing, and rows it did not see (and nobody changed since it began) leave the table.
"""

from __future__ import annotations

from .ft42 import Ft42Api
from .ledger import Ledger
from .loader import Loader, Staged
from .run_log import RunLog
from .table_plan import TablePlan

# Pages per chunk: each is a dlt load (about half a second of overhead) and the most a kill loses.
CHUNK_PAGES = 50


def fetch_big_table(loader: Loader, ledger: Ledger, api: Ft42Api, plan: TablePlan, log: RunLog) -> Staged | None:
    """The window (once a pass has completed) and this run's share of the pass. Returns what was
    loaded, None if nothing; a failure is raised after the chunks before it are committed."""
    staged = None
    if plan.mode == "incremental":
        staged = loader.load(api, plan.listing, plan.updated_between)
    pass_ = plan.pass_
    if pass_ is None or pass_.requests <= 0:
        return staged
    current = pass_.active or ledger.start_pass(plan.table, pass_.kind, pass_.remaining)
    after_id, left = pass_.after_id, pass_.requests
    while left > 0:
        chunk = loader.load(api, plan.listing, after_id=after_id, max_pages=min(CHUNK_PAGES, left))
        ledger.advance_pass(current.pass_id, position=chunk.last_id, rows=chunk.rows, load_id=chunk.load_id,
                            completed=chunk.reached_end)
        staged = chunk if staged is None else staged + chunk
        left -= chunk.requests
        after_id = chunk.last_id
        if chunk.reached_end:
            log(f"{plan.table}: the {current.kind} pass started {current.started_at:%Y-%m-%d %H:%M} UTC is "
                f"complete ({current.rows_seen + staged.rows} rows)")
            break
    return staged
