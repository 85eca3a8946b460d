"""Alerts and health-check pings, received by a real HTTP server on 127.0.0.1, from real syncs."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import CLIENT_SECRET, ROOT, TRICKY_PASSWORD, free_port
from helpers import FAST_RETRIES, failure_line

from pipelines import warehouse

PYTHON = str(ROOT / ".venv" / "bin" / "python")


class Receiver:
    """Records every request: (method, path, body)."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(("POST", self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self, prefix: str) -> list[str]:
        return [path for _method, path, _body in self.received if path.startswith(prefix)]

    def bodies(self, prefix: str) -> list[bytes]:
        return [body for _method, path, body in self.received if path.startswith(prefix)]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def alert_env(receiver: Receiver) -> dict[str, str]:
    return {"ALERT_WEBHOOK_URL": f"{receiver.url}/hook/T0K3N", "HEALTHCHECK_URL": f"{receiver.url}/ping/abc-123"}


def ft42_sync(project, **extra_env) -> subprocess.CompletedProcess:
    """The sync as cron runs it (no make in between, so the exit code is the sync's own)."""
    return subprocess.run([PYTHON, "-m", "pipelines.cli", "sync"], cwd=ROOT, env={**project.env, **extra_env},
                          capture_output=True, text=True, timeout=600)


def test_a_failed_sync_posts_exactly_one_alert_without_secrets_and_pings_fail(project, receiver):
    result = ft42_sync(project, CLIENT_SECRET="wrong-secret", **alert_env(receiver), **FAST_RETRIES)
    assert result.returncode == 1, result.stdout + result.stderr
    line = failure_line(result)

    (alert,) = receiver.bodies("/hook/")
    message = json.loads(alert)
    (run_id,) = project.query("select run_id from sync_runs")[0]
    assert line.endswith(f"Update failed: {message['reason']}")
    assert message["exit_code"] == 1 and message["run_id"] == run_id
    assert message["database"] == f"{project.server.host}:{project.server.port}/{project.database}"
    assert message["host"] and message["reason"] in message["text"]
    assert receiver.paths("/ping/") == ["/ping/abc-123/start", "/ping/abc-123/fail"]
    everything = b"".join(body for _m, _p, body in receiver.received).decode()
    for secret in ("wrong-secret", CLIENT_SECRET, TRICKY_PASSWORD):
        assert secret not in everything
    assert "T0K3N" not in result.stdout + result.stderr + project.log_text


def test_an_overlap_skip_sends_no_alert(project, receiver):
    holder = project.server.connect(project.database)
    holder.autocommit = True
    with holder.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", (warehouse.SYNC_LOCK_KEY,))
    try:
        result = ft42_sync(project, **alert_env(receiver))
    finally:
        holder.close()
    assert result.returncode == 75, result.stdout + result.stderr
    assert receiver.bodies("/hook/") == []
    assert receiver.paths("/ping/") == ["/ping/abc-123/start", "/ping/abc-123/log"]


def test_a_succeeded_sync_pings_start_and_success_and_alerts_nobody(project, receiver):
    result = ft42_sync(project, **alert_env(receiver))
    assert result.returncode == 0, result.stdout + result.stderr
    assert receiver.paths("/ping/") == ["/ping/abc-123/start", "/ping/abc-123"]
    assert receiver.bodies("/hook/") == []


def test_an_unreachable_endpoint_costs_one_log_line_per_message_and_no_exit_code(project):
    closed = f"http://127.0.0.1:{free_port()}/hook/T0K3N"
    failed = ft42_sync(project, CLIENT_SECRET="wrong-secret", ALERT_WEBHOOK_URL=closed, **FAST_RETRIES)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    warnings = [line for line in project.log_text.splitlines() if "could not reach" in line]
    assert len(warnings) == 1 and "ALERT_WEBHOOK_URL" in warnings[0]
    assert "T0K3N" not in project.log_text

    succeeded = ft42_sync(project, HEALTHCHECK_URL=closed)
    assert succeeded.returncode == 0, succeeded.stdout + succeeded.stderr
    warnings = [line for line in project.log_text.splitlines() if "could not reach HEALTHCHECK_URL" in line]
    assert len(warnings) == 2  # /start and the success ping, one line each
