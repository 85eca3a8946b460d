"""Shape of a 42 user record as it lands in the raw schema, and the Arrow batches that carry it.

Every key is declared up front, from the columns `users` declares in its dbt yml, so that columns
exist even when all values are null, and types are fixed rather than guessed from the first page.
A page becomes one Arrow table, column by column: dlt writes it to Parquet as is and loads it
with a binary COPY, which skips the per-row normalising and SQL text that made up most of a
sync's own time. Values are checked against the declared types on the way: a value that cannot
be coerced fails the run with the user id and the field, instead of landing in a variant column
beside an empty one.

Text PostgreSQL cannot hold is cleaned rather than refused, so that one student's odd name does
not block every sync: a NUL character is removed, and a lone UTF-16 surrogate (half a character,
which neither Parquet nor PostgreSQL can encode) becomes U+FFFD. Each cleaning is reported to the
caller as (user id, field).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.schema.typing import TTableSchemaColumns

from .declaration import DeclaredColumn, fetched_columns

# The raw table holds the columns `users` declares (dbt_project/models/marts/users.yml, the one
# place a column is written) that come from the API, under dlt's names for them.
_FETCHED = fetched_columns("users")

# dlt's type for each PostgreSQL type a mart may declare: the raw table keeps dlt's widest kinds,
# and the staging model casts them to the declared ones.
_DLT_TYPES = {"bigint": "bigint", "integer": "bigint", "text": "text", "boolean": "bool",
              "timestamp with time zone": "timestamp"}


def _dlt_type(column: DeclaredColumn) -> str:
    if column.data_type not in _DLT_TYPES:
        raise ValueError(f"users.yml declares {column.name} as {column.data_type!r}, which the fetch cannot "
                         f"store; declare one of {', '.join(_DLT_TYPES)}")
    return _DLT_TYPES[column.data_type]


# `unique` on the key: dlt's primary_key alone creates no index, and merges would scan.
USER_COLUMNS: TTableSchemaColumns = {
    column.raw_name: {"name": column.raw_name, "data_type": _dlt_type(column), "nullable": not column.primary_key,
                      **({"unique": True, "primary_key": True} if column.primary_key else {})}
    for column in _FETCHED
}
# The models decide who is a current student from the not-null ones: a missing value would read
# as "not a current student" and remove the user, on no evidence.
REQUIRED_COLUMNS = frozenset(column.raw_name for column in _FETCHED if column.not_null)

# Microseconds in UTC: what dlt's `timestamp` is on PostgreSQL (timestamptz).
_ARROW_TYPES = {"bigint": pa.int64(), "bool": pa.bool_(), "text": pa.string(), "timestamp": pa.timestamp("us", "UTC")}
ARROW_SCHEMA = pa.schema([
    pa.field(name, _ARROW_TYPES[spec["data_type"]], nullable=spec["nullable"]) for name, spec in USER_COLUMNS.items()
])
# Where each column's value sits in an API user.
_API_PATHS = {column.raw_name: column.api_path for column in _FETCHED}


# The keys each level of an API user may carry (every path to a column, and its prefixes), and
# the keys under each level that lead further down: what a field the sync does not map is.
_MAPPED_KEYS: dict[tuple[str, ...], frozenset[str]] = {
    prefix: frozenset(path[len(prefix)] for path in _API_PATHS.values()
                      if len(path) > len(prefix) and path[:len(prefix)] == prefix)
    for prefix in {path[:depth] for path in _API_PATHS.values() for depth in range(len(path))}
}


def _unmapped_in(record: dict[str, Any], prefix: tuple[str, ...], found: set[str]) -> None:
    allowed = _MAPPED_KEYS[prefix]
    for key in record.keys() - allowed:
        found.add(".".join((*prefix, key)))
    for key in allowed:
        value = record.get(key)
        if isinstance(value, dict) and (*prefix, key) in _MAPPED_KEYS:
            _unmapped_in(value, (*prefix, key), found)


def collect_unmapped_fields(user: dict[str, Any], found: set[str]) -> None:
    """Add to `found` the dotted path of every field this user carries that no column holds: the
    API added a field, and nobody would learn of it otherwise. The fetch checks one user a page:
    a field the API adds comes with every user, and a full check would cost as much as coercing."""
    _unmapped_in(user, (), found)


class BadRecord(ValueError):
    """A record the sync cannot store as it is; the message is the whole line to show."""


# What to do about a BadRecord: nothing on this side can fix the API's data.
REPORT_IT = "report it: the API changed"

_INTEGER = re.compile(r"-?\d+")
_BIGINT_RANGE = range(-(2**63), 2**63)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _bigint(value: Any) -> int:
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in _BIGINT_RANGE:
        return value
    raise ValueError("a whole number below 2^63")


def user_id(user: Any) -> int:
    """The id of one listed user, coerced like every bigint; ValueError saying what is wrong."""
    if not isinstance(user, dict):
        raise ValueError(f"is not a user object but {type(user).__name__}")
    value = user.get("id")
    try:
        return _bigint(value)
    except ValueError as expected:
        raise ValueError(f"has id={repr(value)[:60]}, expected {expected}") from None


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


def _field_name(column: str) -> str:
    return ".".join(_API_PATHS[column])


def _coerced(values: list[Any], data_type: str, column: str, ids: list[Any]) -> list[Any]:
    coerce = _COERCE[data_type][0]
    coerced = []
    for user_id, value in zip(ids, values):
        try:
            coerced.append(None if value is None else coerce(value))
        except ValueError as expected:
            raise BadRecord(
                f"user {user_id} has {_field_name(column)}={repr(value)[:60]}, expected {expected}; {REPORT_IT}"
            ) from None
    return coerced


def _storable_text(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def _text_array(values: list[Any], column: str, ids: list[int], cleaned: list[tuple[int, str]]) -> pa.Array:
    try:
        array = pa.array(values, pa.string())
        if not pc.any(pc.match_substring(array, "\x00")).as_py():
            return array
    except UnicodeEncodeError:  # a lone surrogate: UTF-8 cannot encode it
        pass
    storable = []
    for user_id, value in zip(ids, values):
        if value is not None and _storable_text(value) != value:
            cleaned.append((user_id, _field_name(column)))
            value = _storable_text(value)
        storable.append(value)
    return pa.array(storable, pa.string())


def _column(users: list[dict[str, Any]], column: str, data_type: str, ids: list[int],
            cleaned: list[tuple[int, str]]) -> pa.Array:
    values = _field_values(users, column)
    ready = _COERCE[data_type][1]
    # `type(...) is`: a bool is an int to isinstance, and 2.5 would be truncated by Arrow's int64.
    if not all(value is None or type(value) is ready for value in values):
        values = _coerced(values, data_type, column, ids)
    if column in REQUIRED_COLUMNS and None in values:
        raise BadRecord(
            f"user {ids[values.index(None)]} has no {_field_name(column)}: without it the sync cannot tell "
            f"whether they are a current student, and would remove them; {REPORT_IT}"
        )
    arrow_type = _ARROW_TYPES[data_type]
    if data_type == "text":
        return _text_array(values, column, ids, cleaned)
    if data_type == "timestamp" and any(isinstance(value, str) for value in values):
        try:
            return pc.cast(pa.array(values, pa.string()), arrow_type)
        except pa.ArrowInvalid:  # a form Arrow does not parse (no offset, a space): Python's parser
            values = _coerced(values, data_type, column, ids)
    try:
        return pa.array(values, arrow_type)
    except OverflowError:  # a whole number past int64: the coercer names the user
        return pa.array(_coerced(values, data_type, column, ids), arrow_type)


def users_table(users: list[dict[str, Any]], cleaned: list[tuple[int, str]] | None = None) -> pa.Table:
    """A batch of API users as an Arrow table with exactly the declared columns and types.
    `cleaned` receives (user id, field) for each text value that had to be made storable."""
    ids: list[int] = []
    for user in users:
        try:
            ids.append(user_id(user))
        except ValueError as problem:
            after = f"user {ids[-1]}" if ids else "the start of its batch"
            raise BadRecord(f"the user listed after {after} {problem}; {REPORT_IT}") from None
    cleaned = [] if cleaned is None else cleaned
    columns = [_column(users, column, spec["data_type"], ids, cleaned) for column, spec in USER_COLUMNS.items()]
    return pa.Table.from_arrays(columns, schema=ARROW_SCHEMA)
