"""Running dbt: in this process for one-off commands, or warmed up in a second one for the sync.

Importing dbt and loading the project take about 2.5 s before the first SQL statement, every
run. The sync starts `python -m pipelines.dbt_build` before it fetches; that process imports
dbt and parses the project on the other core while the fetch runs, then waits on stdin for the
build request and answers on its own pipe. Its stdout and stderr are the sync's, so dbt's
lines show exactly as if dbt ran in the sync itself. The outcome goes back on the pipe first;
then, while the sync finishes without waiting for it, the process writes dbt's manifest.json and
run_results.json into the warehouse's target folder, for dbt tooling to read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .run_log import dbt_event_logger
from .settings import DATA_DIR, DBT_PROJECT_DIR, DbSettings, Settings
from .warehouse import dbt_environment

# A listing's staging model: `stg_ft42__<table>`; everything built for a table hangs off it.
STAGING_PREFIX = "stg_ft42__"


def dbt_target_path(db: DbSettings) -> Path:
    """dbt's build output, one folder per warehouse: its partial-parse cache is only valid for
    one profile, and two checkouts' syncs into different databases must not share it."""
    return DATA_DIR / "dbt" / f"{db.host}-{db.port}-{db.name}"


def _project_args(target_path: Path) -> list[str]:
    return ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target_path)]


def run_dbt(db: DbSettings, settings: Settings, args: list[str]):
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment(db, settings))
    return dbtRunner().invoke([*args, *_project_args(dbt_target_path(db))])


@dataclass
class BuildOutcome:
    success: bool
    failure_messages: list[str] = field(default_factory=list)  # "node: message", of each node that errored or failed
    node_status: dict[str, str] = field(default_factory=dict)  # each built node's name: success, error, fail, skipped…
    # Each failed node's name: the tables whose listings it is built from (the `stg_ft42__<table>`
    # models upstream of it, or itself). Empty when the project did not parse: nothing is known.
    tables_of_failure: dict[str, list[str]] = field(default_factory=dict)

    def failures_of(self, table: str) -> list[str]:
        """The failure messages that spoil `table`'s build: of its own models, tests and snapshot,
        or of a table made from its rows (cursus_user_skills from cursus_users)."""
        return [message for message in self.failure_messages
                if table in self.tables_of_failure.get(message.split(": ", 1)[0], [table])]


class PrewarmedDbt:
    """A dbt process started now, to build later: `build()` once, then `close()`."""

    def __init__(self, db: DbSettings, settings: Settings) -> None:
        read_end, write_end = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.dbt_build", str(write_end), str(dbt_target_path(db))],
            stdin=subprocess.PIPE, pass_fds=(write_end,), text=True,
            env={**os.environ, **dbt_environment(db, settings)},
        )
        os.close(write_end)  # the child's copy is the only one left: EOF when it exits
        self._answers = os.fdopen(read_end)
        self._answered = False

    def build(self, args: list[str], env: dict[str, str]) -> BuildOutcome:
        self._process.stdin.write(json.dumps({"args": args, "env": env}) + "\n")
        self._process.stdin.flush()
        answer = self._answers.read()
        if not answer:
            return BuildOutcome(False, [f"the dbt process ended with code {self._process.wait()}"])
        self._answered = True
        return BuildOutcome(**json.loads(answer))

    def kill(self) -> None:
        """Ends it now, mid-build included: its open transaction is rolled back, never committed."""
        self._process.kill()

    def close(self) -> None:
        """Ends it: a build that answered writes its artifacts and exits on its own, a warm-up
        finishes and exits (killing it would leave dbt's semaphores behind with a warning), a
        build still running (the sync is stopping) exits at once."""
        self._answers.close()
        try:
            self._process.stdin.close()
        except OSError:
            pass  # it is gone already
        if self._answered:
            return
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _exit_if_the_sync_goes_first(build_done: threading.Event) -> None:
    sys.stdin.read()  # EOF: the sync closed our stdin or was killed; a build must not outlive it
    if not build_done.is_set():
        os._exit(1)


def _listings_above(manifest, unique_id: str) -> list[str]:
    """The tables whose staging models (`stg_ft42__<table>`) are upstream of a node, or are it."""
    seen, todo = {unique_id}, [unique_id]
    while todo:
        for parent in manifest.parent_map.get(todo.pop(), []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return sorted(manifest.nodes[node].name.removeprefix(STAGING_PREFIX) for node in seen
                  if node in manifest.nodes and manifest.nodes[node].name.startswith(STAGING_PREFIX))


def _start_resource_tracker_off_our_output() -> None:
    """dbt's locks start multiprocessing's resource tracker, a process that inherits stdout and
    stderr, the sync's own, and outlives this one: whoever reads the sync's output through a pipe
    (cron, `make sync | tee`, a scheduler) would wait for it after the sync has exited. Started
    here first, with them pointed at /dev/null, it holds nothing of theirs."""
    from multiprocessing import resource_tracker

    saved = os.dup(1), os.dup(2)
    quiet = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, quiet):
            os.close(fd)


def _worker(answer_fd: int, target_path: Path) -> int:
    _start_resource_tracker_off_our_output()
    from dbt.cli.main import dbtRunner

    project_args = [*_project_args(target_path), "--no-write-json"]
    # Silent: a failure is retried from scratch, and that retry says why if it fails too.
    parsed = dbtRunner().invoke(["parse", "--log-level", "none", *project_args])
    if not parsed.success:
        # dbt's partial parsing mishandles some edits to YAML snapshots (dbt-core #4771,
        # #11444: "found two snapshots with the name"), and every later run would fail the same
        # way. A full parse also rewrites the cache it read.
        parsed = dbtRunner().invoke(["parse", "--quiet", "--no-partial-parse", *project_args])
    request = sys.stdin.readline()
    if not request:
        return 0  # the sync ended before it needed dbt
    request = json.loads(request)
    os.environ.update(request["env"])
    build_done = threading.Event()
    threading.Thread(target=_exit_if_the_sync_goes_first, args=(build_done,), daemon=True).start()
    # A project that failed to parse is parsed again by the build, which reports why.
    manifest = parsed.result if parsed.success else None
    # dbt's events as lines of the sync's own stream (LOG_LEVEL), instead of dbt's console.
    events = dbt_event_logger()
    result = dbtRunner(manifest=manifest, callbacks=[events]).invoke(
        [*request["args"], *project_args, "--log-level", "none"])
    nodes = getattr(result.result, "results", None) or []
    failed = [node for node in nodes if node.status in ("error", "fail")]
    build_done.set()
    with os.fdopen(answer_fd, "w") as answers:
        answers.write(json.dumps({
            "success": result.success,
            "failure_messages": [f"{node.node.name}: {node.message or node.status}" for node in failed],
            "node_status": {node.node.name: str(node.status) for node in nodes},
            "tables_of_failure": {node.node.name: _listings_above(manifest, node.node.unique_id) for node in failed}
            if manifest is not None else {},
        }))
    # The sync has its answer and does not wait for these: dbt's record of the run, for tooling.
    # Off the sync's output too, so whoever reads it sees its end when the sync exits.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, sys.stdout.fileno())
    os.dup2(quiet, sys.stderr.fileno())
    if manifest is not None:
        manifest.write(str(target_path / "manifest.json"))
    if hasattr(result.result, "write"):
        result.result.write(str(target_path / "run_results.json"))
    return 0


if __name__ == "__main__":
    # A plain exit: its exit handlers close dbt's log files and unlink dbt's lock semaphores, and
    # the sync, which has its answer, does not wait for it.
    sys.exit(_worker(int(sys.argv[1]), Path(sys.argv[2])))
