"""Shape of a listed record as it lands in the raw schema, and the Arrow batches that carry it.

Every key is declared up front, from the columns the table declares in its dbt yml, so that
columns exist even when all values are null, and types are fixed rather than guessed from the
first page. A batch of records becomes one Arrow table, column by column: dlt writes it to
Parquet as is and loads it with a binary COPY, which skips the per-row normalising and SQL text
that made up most of a sync's own time. Values are checked against the declared types on the way:
a value that cannot be coerced fails the run with the record's id and the field, instead of
landing in a variant column beside an empty one.

Text PostgreSQL cannot hold is cleaned rather than refused, so that one student's odd name does
not block every sync: a NUL character is removed, and a lone UTF-16 surrogate (half a character,
which neither Parquet nor PostgreSQL can encode) becomes U+FFFD. Each cleaning is reported to the
caller as ("<item> <id>", field), e.g. ("user 42", "last_name").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.schema.typing import TTableSchemaColumns

from .declaration import DeclaredColumn, Listing, fetched_columns, listing_of

# dlt's type for each PostgreSQL type a mart may declare: the raw table keeps dlt's widest kinds,
# and the staging model casts them to the declared ones (a level of 12.34 as double precision
# casts to exactly 12.34 in numeric).
_DLT_TYPES = {"bigint": "bigint", "integer": "bigint", "text": "text", "boolean": "bool",
              "timestamp with time zone": "timestamp", "numeric": "double"}
# Microseconds in UTC: what dlt's `timestamp` is on PostgreSQL (timestamptz).
_ARROW_TYPES = {"bigint": pa.int64(), "bool": pa.bool_(), "text": pa.string(), "timestamp": pa.timestamp("us", "UTC"),
                "double": pa.float64()}


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


def record_id(record: Any, item_name: str = "user") -> int:
    """The id of one listed record, coerced like every bigint; ValueError saying what is wrong."""
    if not isinstance(record, dict):
        raise ValueError(f"is not a {item_name} object but {type(record).__name__}")
    value = record.get("id")
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


def _double(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValueError("a number")


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
    "double": (_double, float),
}


def _storable_text(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text.replace("\x00", ""))


class RecordShape:
    """What the raw table of one listing holds, derived from its declaration: the dlt columns, the
    Arrow schema, where each value sits in an API record, which fields the models cannot do
    without, and which keys are mapped at all (anything else is a field the API added)."""

    def __init__(self, listing: Listing, fetched: list[DeclaredColumn]) -> None:
        self.listing = listing
        self.item_name = listing.item_name
        # Kept whole as JSON text for the models: the fields the listing names, and array columns
        # (`cursus_ids bigint[]`), which the staging model turns into a PostgreSQL array.
        arrays = [column for column in fetched if column.data_type.endswith("[]")]
        fetched = [column for column in fetched if column not in arrays]
        self.json_columns = {name: (name,) for name in listing.keep_as_json}
        self.json_columns.update({column.raw_name: column.api_path for column in arrays})
        for column in fetched:
            if column.data_type not in _DLT_TYPES:
                raise ValueError(f"{listing.table}.yml declares {column.name} as {column.data_type!r}, which the "
                                 f"fetch cannot store; declare one of {', '.join(_DLT_TYPES)}")
        # `unique` on the key: dlt's primary_key alone creates no index, and merges would scan.
        self.dlt_columns: TTableSchemaColumns = {
            column.raw_name: {"name": column.raw_name, "data_type": _DLT_TYPES[column.data_type],
                              "nullable": not column.primary_key,
                              **({"unique": True, "primary_key": True} if column.primary_key else {})}
            for column in fetched
        }
        for name in self.json_columns:
            self.dlt_columns[name] = {"name": name, "data_type": "text", "nullable": True}
        # A missing value would read as "not current" somewhere in the models and remove a row
        # on no evidence.
        self.required = frozenset(column.raw_name for column in fetched if column.not_null)
        self.arrow_schema = pa.schema([
            pa.field(name, _ARROW_TYPES[spec["data_type"]], nullable=spec["nullable"])
            for name, spec in self.dlt_columns.items()
        ])
        self.api_paths = {column.raw_name: column.api_path for column in fetched}
        self.api_paths.update(self.json_columns)
        # The keys each level of a record may carry (every path to a column, and its prefixes).
        paths = self.api_paths.values()
        self._mapped_keys: dict[tuple[str, ...], frozenset[str]] = {
            prefix: frozenset(path[len(prefix)] for path in paths
                              if len(path) > len(prefix) and path[:len(prefix)] == prefix)
            for prefix in {path[:depth] for path in paths for depth in range(len(path))}
        }

    def collect_unmapped_fields(self, record: dict[str, Any], found: set[str]) -> None:
        """Add to `found` the dotted path of every field this record carries that no column
        holds: the API added a field, and nobody would learn of it otherwise. The fetch checks one
        record a page: a field the API adds comes with every record, and a full check would cost
        as much as coercing."""
        self._unmapped_in(record, (), found)

    def _unmapped_in(self, record: dict[str, Any], prefix: tuple[str, ...], found: set[str]) -> None:
        if ".".join(prefix) in self.listing.ignore:
            return
        allowed = self._mapped_keys[prefix]
        for key in record.keys() - allowed:
            if (path := ".".join((*prefix, key))) not in self.listing.ignore:
                found.add(path)
        for key in allowed:
            value = record.get(key)
            if isinstance(value, dict) and (*prefix, key) in self._mapped_keys:
                self._unmapped_in(value, (*prefix, key), found)

    def record_id(self, record: Any) -> int:
        return record_id(record, self.item_name)

    def arrow_table(self, records: list[dict[str, Any]], cleaned: list[tuple[str, str]] | None = None) -> pa.Table:
        """A batch of API records as an Arrow table with exactly the declared columns and types.
        `cleaned` receives ("<item> <id>", field) for each text value that had to be made storable."""
        ids: list[int] = []
        for record in records:
            try:
                ids.append(self.record_id(record))
            except ValueError as problem:
                after = f"{self.item_name} {ids[-1]}" if ids else "the start of its batch"
                raise BadRecord(f"the {self.item_name} listed after {after} {problem}; {REPORT_IT}") from None
        cleaned = [] if cleaned is None else cleaned
        columns = [self._column(records, column, spec["data_type"], ids, cleaned)
                   for column, spec in self.dlt_columns.items()]
        return pa.Table.from_arrays(columns, schema=self.arrow_schema)

    def _field_values(self, records: list[dict[str, Any]], column: str) -> list[Any]:
        path = self.api_paths[column]
        if len(path) == 1:
            values = [record.get(path[0]) for record in records]
        else:
            values = []
            for record in records:
                value: Any = record
                for key in path:
                    value = value.get(key) if isinstance(value, dict) else None
                values.append(value)
        if column in self.json_columns:
            return [None if value is None else json.dumps(value, ensure_ascii=False) for value in values]
        return values

    def _field_name(self, column: str) -> str:
        return ".".join(self.api_paths[column])

    def _coerced(self, values: list[Any], data_type: str, column: str, ids: list[Any]) -> list[Any]:
        coerce = _COERCE[data_type][0]
        coerced = []
        for record_id, value in zip(ids, values):
            try:
                coerced.append(None if value is None else coerce(value))
            except ValueError as expected:
                raise BadRecord(
                    f"{self.item_name} {record_id} has {self._field_name(column)}={repr(value)[:60]}, "
                    f"expected {expected}; {REPORT_IT}"
                ) from None
        return coerced

    def _text_array(self, values: list[Any], column: str, ids: list[int], cleaned: list[tuple[str, str]]) -> pa.Array:
        try:
            array = pa.array(values, pa.string())
            if not pc.any(pc.match_substring(array, "\x00")).as_py():
                return array
        except UnicodeEncodeError:  # a lone surrogate: UTF-8 cannot encode it
            pass
        storable = []
        for record_id, value in zip(ids, values):
            if value is not None and _storable_text(value) != value:
                cleaned.append((f"{self.item_name} {record_id}", self._field_name(column)))
                value = _storable_text(value)
            storable.append(value)
        return pa.array(storable, pa.string())

    def _column(self, records: list[dict[str, Any]], column: str, data_type: str, ids: list[int],
                cleaned: list[tuple[str, str]]) -> pa.Array:
        values = self._field_values(records, column)
        ready = _COERCE[data_type][1]
        # `type(...) is`: a bool is an int to isinstance, and 2.5 would be truncated by Arrow's int64.
        if not all(value is None or type(value) is ready for value in values):
            values = self._coerced(values, data_type, column, ids)
        if column in self.required and None in values:
            raise BadRecord(
                f"{self.item_name} {ids[values.index(None)]} has no {self._field_name(column)}: the models "
                f"cannot do without it (a missing value would remove the row); {REPORT_IT}"
            )
        arrow_type = _ARROW_TYPES[data_type]
        if data_type == "text":
            return self._text_array(values, column, ids, cleaned)
        if data_type == "timestamp" and any(isinstance(value, str) for value in values):
            try:
                return pc.cast(pa.array(values, pa.string()), arrow_type)
            except pa.ArrowInvalid:  # a form Arrow does not parse (no offset, a space): Python's parser
                values = self._coerced(values, data_type, column, ids)
        try:
            return pa.array(values, arrow_type)
        except OverflowError:  # a whole number past int64: the coercer names the record
            return pa.array(self._coerced(values, data_type, column, ids), arrow_type)


@cache
def shape_of(table: str) -> RecordShape:
    """The shape of a table that has a listing of its own, from its mart's yml."""
    listing = listing_of(table)
    if listing is None:
        raise ValueError(f"{table} declares no listing: its rows are made from another table's")
    return RecordShape(listing, fetched_columns(table))
