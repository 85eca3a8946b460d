"""Shape of a 42 user record as it lands in the raw schema, and the Arrow batches that carry it.

Every key is declared up front so that columns exist even when all values are null, and types
are fixed rather than guessed from the first page. A page becomes one Arrow table, column by
column: dlt writes it to Parquet as is and loads it with a binary COPY, which skips the per-row
normalising and SQL text that made up most of a sync's own time. Values are checked against
the declared types on the way: a value that cannot be coerced fails the run with the user id and
the field, instead of landing in a variant column beside an empty one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.schema.typing import TTableSchemaColumns

# The API's `staff?`/`alumni?`/`active?` would normalise to `staffx` etc.; `_p` (predicate) is the
# old system's spelling and the one `users` keeps.
FLAG_NAMES = {"staff?": "staff_p", "alumni?": "alumni_p", "active?": "active_p"}

_TYPES = {
    "bigint": ["id", "correction_point", "wallet"],
    "bool": list(FLAG_NAMES.values()),
    "timestamp": ["created_at", "updated_at", "alumnized_at", "anonymize_date", "data_erasure_date"],
    "text": [
        "email", "login", "first_name", "last_name", "usual_full_name", "usual_first_name",
        "displayname", "url", "phone", "kind", "pool_month", "pool_year", "location",
        # `image` is a nested object, flattened into these columns (path joined by `__`).
        "image__link", "image__versions__large", "image__versions__medium",
        "image__versions__small", "image__versions__micro",
    ],
}

USER_COLUMNS: TTableSchemaColumns = {
    name: {"name": name, "data_type": data_type, "nullable": name != "id"}
    for data_type, names in _TYPES.items()
    for name in names
}
USER_COLUMNS["id"].update(unique=True, primary_key=True)

# Microseconds in UTC: what dlt's `timestamp` is on PostgreSQL (timestamptz).
_ARROW_TYPES = {"bigint": pa.int64(), "bool": pa.bool_(), "text": pa.string(), "timestamp": pa.timestamp("us", "UTC")}
ARROW_SCHEMA = pa.schema([
    pa.field(name, _ARROW_TYPES[spec["data_type"]], nullable=spec["nullable"]) for name, spec in USER_COLUMNS.items()
])
# Where each column's value sits in an API user: the renamed flags, else the `__`-joined path.
_API_PATHS = {column: tuple(column.split("__")) for column in USER_COLUMNS} | {
    column: (api_key,) for api_key, column in FLAG_NAMES.items()
}


class BadRecord(ValueError):
    pass


_INTEGER = re.compile(r"-?\d+")


def _bigint(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise ValueError("a whole number")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("true or false")


def _timestamp(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ValueError("an ISO 8601 timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError("text")


# Per type: the coercer, and the Python type that needs none (checked first over a whole column:
# the common case must be cheap). Timestamps arrive as text; Arrow parses the API's format itself.
_COERCE: dict[str, tuple[Callable[[Any], Any], type]] = {
    "bigint": (_bigint, int), "bool": (_bool, bool), "timestamp": (_timestamp, str), "text": (_text, str),
}


def _field_values(users: list[dict[str, Any]], column: str) -> list[Any]:
    path = _API_PATHS[column]
    if len(path) == 1:
        return [user.get(path[0]) for user in users]
    values = []
    for user in users:
        value: Any = user
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        values.append(value)
    return values


def _coerced(values: list[Any], data_type: str, column: str, ids: list[Any]) -> list[Any]:
    coerce = _COERCE[data_type][0]
    coerced = []
    for user_id, value in zip(ids, values):
        try:
            coerced.append(None if value is None else coerce(value))
        except ValueError as expected:
            field = ".".join(_API_PATHS[column])
            raise BadRecord(f"user {user_id} has {field}={repr(value)[:60]}, expected {expected}") from None
    return coerced


def _column(users: list[dict[str, Any]], column: str, data_type: str, ids: list[Any]) -> pa.Array:
    values = _field_values(users, column)
    ready = _COERCE[data_type][1]
    # `type(...) is`: a bool is an int to isinstance, and 2.5 would be truncated by Arrow's int64.
    if not all(value is None or type(value) is ready for value in values):
        values = _coerced(values, data_type, column, ids)
    arrow_type = _ARROW_TYPES[data_type]
    if data_type == "timestamp" and any(isinstance(value, str) for value in values):
        try:
            return pc.cast(pa.array(values, pa.string()), arrow_type)
        except pa.ArrowInvalid:  # a form Arrow does not parse (no offset, a space): Python's parser
            values = _coerced(values, data_type, column, ids)
    return pa.array(values, arrow_type)


def users_table(users: list[dict[str, Any]]) -> pa.Table:
    """A batch of API users as an Arrow table with exactly the declared columns and types."""
    ids = _field_values(users, "id")
    if None in ids:
        raise BadRecord(f"a user without an id: {sorted(users[ids.index(None)])}")
    return pa.Table.from_arrays(
        [_column(users, column, spec["data_type"], ids) for column, spec in USER_COLUMNS.items()],
        schema=ARROW_SCHEMA,
    )
