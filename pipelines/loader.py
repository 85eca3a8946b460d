"""dlt's part of a run: each listing (or chunk of one) fetched and merged into its raw table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

from . import dlt_workdir
from .failures import SyncFailed, describe_failure
from .ft42 import PAGE_SIZE, Ft42Api, ft42_source, listing_resource
from .ft42.declaration import Listing
from .ft42.paginator import IdKeysetPaginator
from .progress import FetchProgress, interactive
from .run_log import RunLog
from .settings import DbSettings, Settings

PIPELINE_NAME = "ft42"


@dataclass(frozen=True)
class Staged:
    """What one table's fetch and load put into the raw schema."""

    rows: int
    load_id: str | None
    requests: int
    last_id: int = 0  # the highest id fetched (where a chunk of a pass ended)
    reached_end: bool = True  # a short or empty page ended the listing

    def __add__(self, later: Staged) -> Staged:
        """Two loads of one table in one run (a window, then chunks of a pass)."""
        return Staged(self.rows + later.rows, later.load_id or self.load_id, self.requests + later.requests,
                      later.last_id, later.reached_end)



class Loader:
    """dlt's pipeline for the run: one load into the raw schema per table."""

    def __init__(self, settings: Settings, db: DbSettings, log: RunLog) -> None:
        self.settings, self.db, self.log = settings, db, log
        self.pipelines_dir = dlt_workdir.destination_dir(settings.dlt_data_dir, db)
        self._set_aside("an interrupted or failed run left behind")
        self.pipeline = dlt.pipeline(
            pipeline_name=PIPELINE_NAME,
            pipelines_dir=str(self.pipelines_dir),
            destination=dlt.destinations.postgres(credentials={
                "host": db.host, "port": db.port, "database": db.name,
                "username": db.user, "password": db.password,
            }),
            dataset_name=db.raw_schema,
        )

    def _set_aside(self, left_by: str) -> None:
        if set_aside := dlt_workdir.set_aside_unfinished(self.pipelines_dir, PIPELINE_NAME):
            self.log(f"Set aside the unfinished load {left_by} (kept in {set_aside}); fetching afresh")

    def load(self, api: Ft42Api, listing: Listing, updated_between: tuple[datetime, datetime] | None = None,
             *, after_id: int = 0, max_pages: int | None = None) -> Staged:
        """One listing (or window), or with `max_pages` one chunk of it from `after_id` on,
        fetched and merged into its raw table."""
        requests_before = api.adapter.requests_sent
        progress = FetchProgress() if interactive() else None
        paginator = IdKeysetPaginator(PAGE_SIZE, progress, listing.item_name, after_id, max_pages)
        resource = listing_resource(api, listing, self.settings.api.cursus_id, updated_between,
                                    paginator=paginator)
        try:
            load_info = self.pipeline.run(ft42_source([resource]), loader_file_format="parquet")
        except PipelineStepFailed as failure:
            # Its package must not be loaded with the next table's.
            dlt_workdir.set_aside_unfinished(self.pipelines_dir, PIPELINE_NAME)
            raise SyncFailed(describe_failure(failure, self.settings.api.root, self.db)) from None
        finally:
            if progress:
                progress.close()
        dlt_workdir.forget_loaded_packages(self.pipelines_dir, PIPELINE_NAME)
        trace = self.pipeline.last_trace
        staged = Staged(rows=trace.last_normalize_info.row_counts.get(listing.table, 0),
                        load_id=load_info.loads_ids[-1] if load_info.loads_ids else None,
                        requests=api.adapter.requests_sent - requests_before,
                        last_id=paginator.after_id, reached_end=paginator.reached_end)
        timings = ", ".join(f"{step.step} {(step.finished_at - step.started_at).total_seconds():.1f} s"
                            for step in trace.steps if step.step in ("extract", "normalize", "load"))
        self.log(f"Staged {staged.rows} {listing.table} ({staged.requests} requests; {timings})")
        return staged
