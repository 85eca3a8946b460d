"""The old system's run log: `[2025-12-13T14:31:00Z] message` lines in logs/update_users.log.

Capped: past MAX_BYTES the file moves to `.1` (`.1` to `.2`, …, KEEP files in all), so a sync
every few hours can run for years without filling the disk.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

MAX_BYTES = 5 * 1024 * 1024
KEEP = 3


class RunLog:
    def __init__(self, path: Path, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes

    def _rotate(self) -> None:
        older = [self.path.with_name(f"{self.path.name}.{n}") for n in range(1, KEEP + 1)]
        older[-1].unlink(missing_ok=True)
        for newer, older_one in zip(reversed(older[:-1]), reversed(older[1:])):
            if newer.exists():
                newer.rename(older_one)
        self.path.rename(older[0])

    def __call__(self, message: str, *, error: bool = False) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"[{stamp}] {message}"
        print(line, file=sys.stderr if error else sys.stdout, flush=True)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size >= self.max_bytes:
            self._rotate()
        # Owner-only whatever the umask: the log names the database and the run's counts.
        with open(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8") as log_file:
            log_file.write(line + "\n")
