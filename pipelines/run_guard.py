"""Ends a sync at once, with its one line, when it passes its deadline or is told to stop.

A sync that hangs (an API that trickles bytes, a database that stops answering) would hold the
sync lock and keep every later cron run out; SIGTERM would end it without a word and Ctrl-C with
a traceback. Every write the sync makes is one transaction, so stopping the process anywhere is
as safe as the kill -9 the test-suite already proves safe: the guard says why, lets the caller
record it (killing the dbt process, marking the run failed), and exits.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable


class RunGuard:
    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say  # writes the one failure line
        self._ending = threading.Lock()
        self._cleanups: list[Callable[[str], None]] = []
        self._timer: threading.Timer | None = None
        self.step = "starting"  # what the run is doing, for the line

    def watch(self, deadline_minutes: float) -> None:
        """Arm the deadline and catch SIGTERM and SIGINT, from now on."""
        self._timer = threading.Timer(deadline_minutes * 60, self.end, (
            f"the sync was still running after RUN_DEADLINE_MINUTES={deadline_minutes:g} minutes", 1))
        self._timer.daemon = True
        self._timer.start()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def on_end(self, cleanup: Callable[[str], None]) -> None:
        """Run `cleanup(reason)` if the run is ended (newest first); it must not block for long."""
        self._cleanups.insert(0, cleanup)

    def done(self) -> None:
        if self._timer:
            self._timer.cancel()

    def _on_signal(self, signum: int, _frame) -> None:
        self.end(f"stopped by {signal.Signals(signum).name}", 128 + signum)

    def end(self, reason: str, exit_code: int) -> None:
        if not self._ending.acquire(blocking=False):
            return  # already ending
        reason = f"{reason} during {self.step}; what the run had not committed was discarded, run it again"
        self._say(reason)
        for cleanup in self._cleanups:
            try:
                cleanup(reason)
            except Exception:  # noqa: BLE001 - ending regardless is the point
                pass
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)
