"""dlt's working directory: one per destination, and never anything left over from another run.

dlt keeps extracted and normalised load packages on disk until they are loaded. Two rules keep
that from ever putting wrong data anywhere or blocking later runs:

- Each destination (host, port, database, raw schema) has its own directory, so a package can
  only ever be loaded into the database it was fetched for.
- A run starts from a clean directory. Whatever an earlier run left unfinished (killed between
  two steps, or a load the database refused) is moved aside, kept for inspection, and the run
  fetches afresh: a leftover package is older than what the run is about to fetch, and one that
  failed once would fail every later run the same way. dlt itself cannot always recover such a
  directory (a kill between normalise and load leaves the package in two places at once).
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

from .settings import DbSettings

# Set-aside directories kept for inspection (each holds students' personal data).
KEEP_SET_ASIDE = 3
# Where dlt keeps packages that are not loaded yet.
_UNFINISHED = ("normalize/extracted", "load/new", "load/normalized")


def destination_dir(dlt_data_dir: Path, db: DbSettings) -> Path:
    """The pipelines directory of one destination."""
    key = f"{db.host}-{db.port}-{db.name}-{db.raw_schema}"
    return dlt_data_dir / "pipelines" / re.sub(r"[^A-Za-z0-9._-]", "_", key)


def _unfinished_packages(working_dir: Path) -> list[Path]:
    return [package for folder in _UNFINISHED if (working_dir / folder).is_dir()
            for package in (working_dir / folder).iterdir()]


def set_aside_unfinished(pipelines_dir: Path, pipeline_name: str) -> Path | None:
    """Move a working directory holding unfinished packages aside; return where it went."""
    working_dir = pipelines_dir / pipeline_name
    if not _unfinished_packages(working_dir):
        return None
    set_aside = pipelines_dir / "set-aside"
    set_aside.mkdir(mode=0o700, exist_ok=True)
    target = set_aside / f"{pipeline_name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S.%fZ}"
    working_dir.rename(target)
    for old in sorted(set_aside.iterdir())[:-KEEP_SET_ASIDE]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def forget_loaded_packages(pipelines_dir: Path, pipeline_name: str) -> None:
    """Delete the packages dlt keeps after loading them: nothing reads them again, and they hold
    every student's personal data."""
    shutil.rmtree(pipelines_dir / pipeline_name / "load" / "loaded", ignore_errors=True)
