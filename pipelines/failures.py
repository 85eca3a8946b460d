"""Turn whatever stopped a sync into one line a person can act on (and that carries no secret and
no row data)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg2
from dlt.pipeline.exceptions import PipelineStepFailed
from requests import ConnectionError, HTTPError, Timeout

from .ft42.http import ApiMisbehaved
from .ft42.paginator import RateBudgetExceeded
from .ft42.schema import BadRecord
from .settings import ConfigError, DbSettings

_ADVICE = {
    401: "check CLIENT_ID / CLIENT_SECRET (or rotate to CLIENT_SECRET_NEXT)",
    403: "the API refused the request; check the application's rights",
    404: "check API_ROOT and CURSUS_ID",
    429: "the application's hourly request budget is spent; run again when the hour has passed",
}
# The parts of a PostgreSQL (or dbt) error message that quote rows: "DETAIL:  Failing row
# contains (…)", "Key (email)=(…) already exists", and what follows them.
_ROW_DATA = re.compile(r"\s*\b(DETAIL|HINT|CONTEXT|WHERE|QUERY|compiled code at)\b.*", re.DOTALL)


class SyncFailed(Exception):
    """A step failed; the message is the one line the user sees."""


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def without_row_data(message: str) -> str:
    """A database or dbt error message on one line, without the part that quotes the rows."""
    return " ".join(_ROW_DATA.sub("", message).split())


def _database_error(error: psycopg2.Error, db: DbSettings) -> str:
    reason = without_row_data(getattr(error, "pgerror", None) or str(error)) or type(error).__name__
    reason = reason.removeprefix("ERROR: ").strip()
    if isinstance(error, psycopg2.errors.InsufficientPrivilege):
        advice = f"DB_USER {db.user!r} needs CREATE on database {db.name!r} and on its schemas"
    elif isinstance(error, psycopg2.errors.ReadOnlySqlTransaction):
        advice = "the database is read-only (a standby?); point DB_HOST at the primary"
    else:
        advice = "check the server and the DB_* settings, then run again"
    return f"PostgreSQL at {db.host}:{db.port} (database {db.name!r}): {reason}; {advice}"


def describe_failure(failure: PipelineStepFailed, api_root: str, db: DbSettings) -> str:
    """The line for a dlt step that failed: one table's fetch, normalise or load."""
    step = {"extract": "fetch", "normalize": "normalise", "load": "load"}.get(failure.step, failure.step)
    return describe_step_failure(step, failure, api_root, db, "the table was not changed")


def describe_step_failure(step: str, failure: BaseException, api_root: str, db: DbSettings, unchanged: str) -> str:
    """`<step> failed: <what, where>; <advice>; <unchanged>` for the first error in the chain
    that says something a person can act on."""
    for error in _chain(failure):
        if isinstance(error, (BadRecord, RateBudgetExceeded, ApiMisbehaved)):
            return f"{step} failed: {error}; {unchanged}"
        if isinstance(error, HTTPError) and error.response is not None:
            status = error.response.status_code
            advice = _ADVICE.get(status, "the API had a problem; run again later")
            if "Retry-After" in error.response.headers:
                advice += f" (Retry-After: {error.response.headers['Retry-After']} s)"
            return (f"{step} failed: {error.request.method} {_endpoint(error.response.url)} answered "
                    f"{status} {error.response.reason}; {advice}; {unchanged}")
        if isinstance(error, (ConnectionError, Timeout)):
            request = f"{error.request.method} {_endpoint(error.request.url)} " if error.request else ""
            return (f"{step} failed: {request}got no answer from {api_root} ({type(error).__name__}) "
                    f"after retrying; check API_ROOT and the network; {unchanged}")
        if isinstance(error, psycopg2.Error):
            return f"{step} failed: {_database_error(error, db)}; {unchanged}"
    root = list(_chain(failure))[-1]
    return f"{step} failed: {without_row_data(_first_line(root))} ({type(root).__name__}); {unchanged}"


def describe_error(error: BaseException, db: DbSettings | None) -> str:
    """The line for anything that ended a sync, expected or not."""
    if isinstance(error, (SyncFailed, ConfigError)):
        return str(error)
    database_error = next((e for e in _chain(error) if isinstance(e, psycopg2.Error)), None)
    if database_error is not None and db is not None:
        return _database_error(database_error, db)
    return (f"unexpected error: {without_row_data(_first_line(error))} ({type(error).__name__}); "
            "run again, and report it if it persists")
