"""Turn a failed dlt step into one line a person can act on (and that carries no secret)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from dlt.pipeline.exceptions import PipelineStepFailed
from requests import ConnectionError, HTTPError, Timeout

from .ft42.paginator import RateBudgetExceeded
from .ft42.schema import BadRecord

_ADVICE = {
    401: "check CLIENT_ID / CLIENT_SECRET (or rotate to CLIENT_SECRET_NEXT)",
    403: "the API refused the request; check the application's rights",
    404: "check API_ROOT and CURSUS_ID",
    429: "the application's hourly request budget is spent; run again when the hour has passed",
}


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def describe_failure(failure: PipelineStepFailed, api_root: str) -> str:
    step = {"extract": "fetch", "normalize": "normalise", "load": "load"}.get(failure.step, failure.step)
    for error in _chain(failure):
        if isinstance(error, (BadRecord, RateBudgetExceeded)):
            return f"{step} failed: {error}; users was not changed"
        if isinstance(error, HTTPError) and error.response is not None:
            status = error.response.status_code
            advice = _ADVICE.get(status, "the API had a problem; run again later")
            if "Retry-After" in error.response.headers:
                advice += f" (Retry-After: {error.response.headers['Retry-After']} s)"
            return (f"{step} failed: {error.request.method} {_endpoint(error.response.url)} answered "
                    f"{status} {error.response.reason}; {advice}; users was not changed")
        if isinstance(error, (ConnectionError, Timeout)):
            request = f"{error.request.method} {_endpoint(error.request.url)} " if error.request else ""
            return (f"{step} failed: {request}got no answer from {api_root} ({type(error).__name__}) "
                    "after retrying; check API_ROOT and the network; users was not changed")
    root = list(_chain(failure))[-1]
    first_line = str(root).splitlines()[0] if str(root) else ""
    return f"{step} failed: {type(root).__name__}: {first_line}; users was not changed"
