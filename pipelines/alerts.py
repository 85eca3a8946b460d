"""Tell someone about a run: a webhook message when it fails, health-check pings on every run.

ALERT_WEBHOOK_URL gets one JSON POST per failed run: Slack-compatible `text`, plus `host`,
`database`, `run_id`, `reason` (the run's one failure line) and `exit_code`. An overlap skip is
not a failure and sends nothing.

HEALTHCHECK_URL is pinged the way healthchecks.io expects: `<url>/start` when a run starts, the
bare `<url>` when it succeeds, `<url>/fail` (with the failure line as body) when it fails, and
`<url>/log` when it skips because another sync holds the database. A job that stopped running
at all (a removed crontab, a dead machine) is then noticed by the missing pings.

Both are best effort: short timeouts, and an endpoint that cannot be reached costs one log line,
never the run's outcome or exit code. No payload carries a secret: the failure line never does,
and the database is named by host, port and name only.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

import requests

from .settings import AlertSettings, DbSettings

# (connect, read) seconds: an alert must not keep a failed run, or its lock, alive for long.
TIMEOUT = (3, 5)


def database_label(db: DbSettings) -> str:
    host = f"{db.host}:{db.port}" if db.host else f"embedded:{db.embedded_port}"
    return f"{host}/{db.name}"


@dataclass(frozen=True)
class Alerts:
    settings: AlertSettings
    database: str  # database_label(...), or what is known of it when the settings did not load
    warn: Callable[[str], None]  # writes one line to the run log

    def started(self) -> None:
        self._ping("/start")

    def succeeded(self) -> None:
        self._ping("")

    def skipped(self, reason: str) -> None:
        self._ping("/log", f"skipped: {reason}")

    def failed(self, reason: str, exit_code: int, run_id: int | None) -> None:
        if self.settings.webhook_url:
            host = socket.gethostname()
            message = {
                "text": f"ft42 sync failed on {host} ({self.database}), exit code {exit_code}: {reason}",
                "host": host, "database": self.database, "run_id": run_id, "reason": reason,
                "exit_code": exit_code,
            }
            self._send("ALERT_WEBHOOK_URL", self.settings.webhook_url, json=message)
        self._ping("/fail", reason)

    def _ping(self, suffix: str, body: str = "") -> None:
        if self.settings.healthcheck_url:
            url = self.settings.healthcheck_url.rstrip("/") + suffix
            self._send("HEALTHCHECK_URL", url, data=body.encode())

    def _send(self, key: str, url: str, **payload) -> None:
        try:
            response = requests.post(url, timeout=TIMEOUT, **payload)
            response.raise_for_status()
        except requests.RequestException as error:
            # The URL is not written: a webhook's URL is its credential.
            status = f"{error.response.status_code} " if getattr(error, "response", None) is not None else ""
            self.warn(f"Warning: could not reach {key} ({status}{type(error).__name__}); "
                      "the sync's outcome is unchanged")
