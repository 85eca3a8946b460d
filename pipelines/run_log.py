"""The run log: `[2025-12-13T14:31:00Z] message` lines, the old system's format, through `logging`.

`RunLog(path)` routes the `ft42` logger (the run's step lines) and dlt's own logger to two
handlers: the log file, rotated by `RotatingFileHandler` (past MAX_BYTES it moves to `.1`, `.1` to
`.2`, …, KEEP old files, so a sync every few hours runs for years without filling the disk), and
the terminal (errors on stderr, the rest on stdout). The dbt process sends dbt's events to the
terminal the same way (`dbt_event_logger`). LOG_LEVEL sets what the step lines show; dlt and dbt
add their warnings and errors, on a terminal dbt's line per model and test too, and at DEBUG
their debug detail.

A line from dlt or dbt is one line, `dlt: …` / `dbt: …`, without a traceback and without the part
of a database message that quotes rows: a failure still ends with the run's one `Update failed`.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

MAX_BYTES = 5 * 1024 * 1024
KEEP = 3

STEP_LOGGER = "ft42"
DLT_LOGGER = "dlt"  # dlt's own, named after its run context
DBT_LOGGER = "dbt"  # dbt's events, forwarded in the dbt process (dbt itself logs no record there)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# A PostgreSQL or dbt message's parts that quote rows (the same rule as failures.without_row_data,
# which this module cannot import without dlt: the dbt process must start fast).
_ROW_DATA = re.compile(r"\s*\b(DETAIL|HINT|CONTEXT|WHERE|QUERY|compiled code at)\b.*", re.DOTALL)
_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def on_a_terminal() -> bool:
    return sys.stderr.isatty()


def library_levels(level: str, terminal: bool) -> dict[str, int]:
    """The least severe record shown from each source. dlt's own INFO is a line per request,
    noise even on a terminal; dbt's is its line per model and test, what a person watches."""
    step = logging.getLevelName(level)
    if step == logging.DEBUG:
        return {STEP_LOGGER: logging.DEBUG, DLT_LOGGER: logging.DEBUG, DBT_LOGGER: logging.DEBUG}
    return {STEP_LOGGER: step, DLT_LOGGER: max(step, logging.WARNING),
            DBT_LOGGER: max(step, logging.INFO if terminal else logging.WARNING)}


def dlt_runtime_level(level: str) -> str:
    """dlt's own RUNTIME__LOG_LEVEL for a run at `level`: its logger drops what is below that
    before any handler sees it."""
    return logging.getLevelName(library_levels(level, terminal=False)[DLT_LOGGER])


class StepFormatter(logging.Formatter):
    """`[UTC stamp] message` on one line; a library's record says where it comes from."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        source = record.name.split(".")[0]
        if source != STEP_LOGGER:
            severity = "" if record.levelno < logging.WARNING else f" {record.levelname.lower()}"
            message = f"{source}{severity}: " + " ".join(_ROW_DATA.sub("", _COLOURS.sub("", message)).split())
        return f"[{self.formatTime(record, '%Y-%m-%dT%H:%M:%SZ')}] {message}"


class _Threshold(logging.Filter):
    """Each source's own least severity (library_levels); the loggers pass everything enabled."""

    def __init__(self, levels: dict[str, int]) -> None:
        super().__init__()
        self.levels = levels

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.levels.get(record.name.split(".")[0], logging.WARNING)


class _PinnedFormat:
    """dlt sets its own format on the first handler of its logger; ours keeps the run's."""

    def setFormatter(self, fmt: logging.Formatter | None) -> None:  # noqa: N802 - logging's name
        if self.formatter is None:
            super().setFormatter(fmt)


class _TerminalHandler(_PinnedFormat, logging.Handler):
    """Errors on stderr, the rest on stdout: the streams of the moment (a test's, an orchestrator's)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr if record.levelno >= logging.ERROR else sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - logging's own rule: a log line never breaks the run
            self.handleError(record)


class _PrivateRotatingFile(_PinnedFormat, RotatingFileHandler):
    def _open(self):
        # Owner-only whatever the umask: the log names the database and the run's counts.
        return open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,
                    opener=lambda path, flags: os.open(path, flags, 0o600))


_routed: list[logging.Handler] = []


def _route(loggers: list[str], handlers: list[logging.Handler], levels: dict[str, int]) -> None:
    """Only these handlers on these loggers, replacing a previous run's (and dlt's own)."""
    for handler in _routed:
        handler.close()
    _routed[:] = handlers
    threshold = _Threshold(levels)
    for handler in handlers:
        handler.setFormatter(StepFormatter())
        handler.addFilter(threshold)
    for name in loggers:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        for handler in handlers:
            logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(min(levels.values()))


def configured_level() -> str:
    """LOG_LEVEL from the environment and .env; an unusable one is INFO here, and the settings
    refuse it with the run's failure line."""
    from .settings import ConfigError, read_environment, read_setting

    try:
        return read_setting(read_environment(), "LOG_LEVEL")
    except ConfigError:
        return "INFO"


class RunLog:
    """`log(message)` writes a step line; `error=True` for the failure (stderr). A message that
    starts with `Warning` is a warning: it stays when LOG_LEVEL=WARNING hides the steps."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, level: str | None = None) -> None:
        self.path = path
        self.level = level or configured_level()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        log_file = _PrivateRotatingFile(path, maxBytes=max_bytes, backupCount=KEEP, encoding="utf-8", delay=True)
        _route([STEP_LOGGER, DLT_LOGGER], [log_file, _TerminalHandler()],
               library_levels(self.level, on_a_terminal()))
        self._logger = logging.getLogger(STEP_LOGGER)

    def __call__(self, message: str, *, error: bool = False) -> None:
        level = logging.ERROR if error else logging.WARNING if message.startswith("Warning") else logging.INFO
        self._logger.log(level, message)


# dbt warns that a contract's bare `numeric` may round values: chosen on purpose here (a level
# keeps every digit the API sends), so the warning would only fill every cron log.
_EXPECTED_DBT_WARNINGS = ("Detected columns with numeric type and unspecified precision/scale",)


def dbt_event_logger(level: str | None = None) -> Callable[[Any], None]:
    """A dbtRunner callback: dbt's events as lines of the run's stream, on this process's terminal.
    Run dbt with `--log-level none` beside it, so dbt prints nothing of its own."""
    levels = library_levels(level or configured_level(), on_a_terminal())
    _route([DBT_LOGGER], [_TerminalHandler()], levels)
    logger = logging.getLogger(DBT_LOGGER)
    severity = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}

    def forward(event: Any) -> None:
        if event.info.msg and not event.info.msg.startswith(_EXPECTED_DBT_WARNINGS):
            logger.log(severity.get(event.info.level, logging.INFO), event.info.msg)
    return forward
