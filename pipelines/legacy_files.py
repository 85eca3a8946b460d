"""Files the old bash scripts wrote, kept up to date for the scripts that still read them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


def write_fetch_metadata(export_dir: Path, finished: datetime, *, mode: str, requests: int, items: int,
                         total: int, since: datetime | None, until: datetime, downloaded_bytes: int) -> None:
    """`.last_fetch_epoch` (epoch seconds) and `.last_fetch_stats` (key=value), as the old fetch did."""
    export_dir.mkdir(parents=True, exist_ok=True)
    epoch = int(finished.timestamp())
    (export_dir / ".last_fetch_epoch").write_text(f"{epoch}\n")
    iso = "%Y-%m-%dT%H:%M:%SZ"
    stats = {
        "timestamp": epoch,
        # The old key. The old fetch made one request per page; this counts every request of the
        # run (the token and retries too): what readers of the file used it for, the run's cost.
        "pages": requests,
        "items_merged": items,
        "since": since.strftime(iso) if since else "1970-01-01T00:00:00Z",
        "until": until.strftime(iso),
        "downloaded_kB": downloaded_bytes // 1024,
        "mode": mode,
        "users_total": total,
    }
    (export_dir / ".last_fetch_stats").write_text("".join(f"{k}={v}\n" for k, v in stats.items()))
