"""Queries on the cursus resources: ``filter[...]``, ``range[...]``, ``sort`` and paging per ``ResourceSpec``.

Unlike the users listing, an unknown filter or range name is ignored (the real API has done so on
these routes, e.g. ``/v2/coalitions?filter[campus_id]=12``); an unknown sort field is still a 400.
Timestamps compare as ``iso_ms`` strings: every stored timestamp has that one UTC format, so string
order is time order, and query bounds are normalised to it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .query import DEFAULT_PER_PAGE, MAX_PER_PAGE, ListQuery, QueryError, _bracket_field, _int_or
from .users import iso_ms, parse_ts

# Comparable types of filterable / sortable fields.
INT, FLOAT, BOOL, TS, STR, INTS = "int", "float", "bool", "ts", "str", "ints"  # INTS: a list of ids
ORDERED_TYPES = frozenset({INT, FLOAT, TS})
NO_MATCH = object()   # a filter value that cannot equal anything (unparsable for its type)


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    keys: tuple                      # item keys in the API's order
    types: Mapping[str, str]         # comparable type of every filterable or sortable field
    filters: frozenset               # documented filter names
    default_sort: tuple = (("id", True),)
    # How to read a field that is not a plain item key (e.g. a list of ids out of nested objects).
    extractors: Mapping[str, Callable[[dict], Any]] = None

    @property
    def ranges(self) -> frozenset:
        return frozenset(f for f in self.filters if self.types.get(f) in ORDERED_TYPES)

    @property
    def sort_fields(self) -> frozenset:
        return frozenset(f for f, kind in self.types.items() if kind != INTS)

    def value(self, row: dict, field: str):
        if self.extractors and field in self.extractors:
            return self.extractors[field](row)
        return row.get(field)


def normalise_ts(text: str) -> str:
    """Any ISO 8601 instant -> the stored ``iso_ms`` form. Raises ValueError."""
    return iso_ms(int(parse_ts(text).timestamp() * 1000))


def filter_value(kind: str, text: str):
    """A filter value in its field's comparable type, or NO_MATCH."""
    try:
        if kind in (INT, INTS):
            return int(text)
        if kind == FLOAT:
            return float(text)
        if kind == BOOL:
            return {"true": True, "false": False}.get(text.lower(), NO_MATCH)
        if kind == TS:
            return normalise_ts(text)
    except ValueError:
        return NO_MATCH
    return text


def _range_bound(field: str, kind: str, text: str):
    if text == "":
        return None
    value = filter_value(kind, text)
    if value is NO_MATCH:
        raise QueryError("Filter Error", f"Invalid value '{text}' for range[{field}]")
    return value


def _parse_sort(text: str, spec: ResourceSpec) -> tuple:
    fields = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name = part.lstrip("-+")
        if name not in spec.sort_fields:
            raise QueryError("Sort Error", f"'{name}' is not a valid sort field")
        fields.append((name, part.startswith("-")))
    return tuple(fields) or spec.default_sort


def parse_resource_query(query_string: str, spec: ResourceSpec) -> ListQuery:
    """Parse a listing's query string for ``spec``. Raises QueryError (a 400)."""
    filters: dict[str, frozenset] = {}
    ranges: dict[str, tuple] = {}
    sort = spec.default_sort
    page, per_page = 1, DEFAULT_PER_PAGE
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if key in ("page", "page[number]"):
            page = max(1, _int_or(value, 1))
        elif key in ("per_page", "page[size]"):
            per_page = _int_or(value, DEFAULT_PER_PAGE)
            per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
        elif key == "sort":
            sort = _parse_sort(value, spec)
        elif (field := _bracket_field(key, "filter")) is not None:
            if field in spec.filters:
                kind = spec.types[field]
                filters[field] = frozenset(filter_value(kind, v) for v in value.split(","))
        elif (field := _bracket_field(key, "range")) is not None:
            if field in spec.ranges:
                low, sep, high = value.partition(",")
                if not sep:
                    raise QueryError("Filter Error", f"range[{field}] must be 'min,max'")
                kind = spec.types[field]
                ranges[field] = (_range_bound(field, kind, low), _range_bound(field, kind, high))
    return ListQuery(
        filters=tuple(sorted(filters.items(), key=lambda item: item[0])),
        ranges=tuple(sorted(((f, lo, hi) for f, (lo, hi) in ranges.items()), key=lambda r: r[0])),
        sort=sort, page=page, per_page=per_page,
    )


def in_range(value, low, high) -> bool:
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def row_predicate(spec: ResourceSpec, filters, ranges) -> Callable[[dict], bool]:
    """One predicate for ``(field, values)`` filters and ``(field, low, high)`` ranges."""
    checks: list[Callable[[dict], bool]] = []
    for field, values in filters:
        if spec.types[field] == INTS:
            checks.append(lambda r, f=field, vs=values: bool(vs.intersection(spec.value(r, f) or ())))
        else:
            checks.append(lambda r, f=field, vs=values: spec.value(r, f) in vs)
    for field, low, high in ranges:
        checks.append(lambda r, f=field, lo=low, hi=high: in_range(spec.value(r, f), lo, hi))
    if not checks:
        return lambda r: True
    if len(checks) == 1:
        return checks[0]
    return lambda r: all(check(r) for check in checks)


def sort_rows(rows: list[dict], sort: tuple, spec: ResourceSpec) -> list[int]:
    """Ids of ``rows`` (given in id order) in ``sort`` order; ties keep id order.

    NULLs sort last ascending and first descending, like Postgres.
    """
    if sort == (("id", False),):
        return [r["id"] for r in rows]
    if sort == (("id", True),):
        return [r["id"] for r in reversed(rows)]
    rows = list(rows)
    for field, desc in reversed(sort):
        def key(r, f=field):
            v = spec.value(r, f)
            return (v is None, 0 if v is None else v)
        rows.sort(key=key, reverse=desc)
    return [r["id"] for r in rows]
