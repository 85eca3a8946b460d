"""The old system's run log: `[2025-12-13T14:31:00Z] message` lines in logs/update_users.log."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path


class RunLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, message: str, *, error: bool = False) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"[{stamp}] {message}"
        print(line, file=sys.stderr if error else sys.stdout, flush=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log_file:
            log_file.write(line + "\n")
