"""Users listing queries: parsing ``filter[...]``, ``range[...]``, ``sort`` and paging, then selecting.

``parse_list_query`` turns a raw query string into a ``ListQuery`` (or raises ``QueryError``, a 400);
``select_ids`` applies it to the users and returns the ordered ids.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .users import PRIMARY_CAMPUS_ID, USER_KEYS, parse_ts

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100

FILTER_FIELDS = frozenset({
    "id", "login", "email", "created_at", "updated_at", "pool_year", "pool_month", "kind",
    "first_name", "last_name", "alumni?", "staff?", "active?", "primary_campus_id",
})
RANGE_FIELDS = frozenset({
    "id", "login", "email", "created_at", "updated_at", "pool_year", "pool_month", "kind",
})
SORT_FIELDS = frozenset(USER_KEYS)
TIMESTAMP_FIELDS = frozenset({
    "created_at", "updated_at", "alumnized_at", "anonymize_date", "data_erasure_date",
})


class QueryError(Exception):
    """A 400 answer: ``error`` is "Filter Error" or "Sort Error"."""

    def __init__(self, error: str, message: str):
        super().__init__(message)
        self.error = error
        self.message = message


@dataclass(frozen=True)
class ListQuery:
    filters: tuple = ()          # ((field, frozenset(values)), ...)
    ranges: tuple = ()           # ((field, low or None, high or None), ...)
    sort: tuple = (("id", True),)  # ((field, descending), ...); default is id descending
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def selection_key(self) -> tuple:
        """What determines the ordered id list (page and page size do not)."""
        return (self.filters, self.ranges, self.sort)


def _int_or(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def _bracket_field(key: str, prefix: str) -> str | None:
    if key.startswith(prefix + "[") and key.endswith("]"):
        return key[len(prefix) + 1:-1]
    return None


def _range_bound(field: str, text: str):
    """A range bound in the field's comparison type; empty means unbounded."""
    if text == "":
        return None
    try:
        if field == "id":
            return int(text)
        if field in TIMESTAMP_FIELDS:
            return parse_ts(text)
    except ValueError:
        raise QueryError("Filter Error", f"Invalid value '{text}' for range[{field}]") from None
    return text


def _parse_sort(text: str) -> tuple:
    fields = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("-+")
        if name not in SORT_FIELDS:
            raise QueryError("Sort Error", f"'{name}' is not a valid sort field")
        fields.append((name, desc))
    return tuple(fields) or ListQuery.sort


def parse_list_query(query_string: str) -> ListQuery:
    """Parse the (URL-encoded) query string of a users listing. Raises QueryError."""
    filters: dict[str, frozenset] = {}
    ranges: dict[str, tuple] = {}
    sort = ListQuery.sort
    page, per_page = 1, DEFAULT_PER_PAGE
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if key in ("page", "page[number]"):
            page = max(1, _int_or(value, 1))
        elif key in ("per_page", "page[size]"):
            per_page = _int_or(value, DEFAULT_PER_PAGE)
            per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
        elif key == "sort":
            sort = _parse_sort(value)
        elif (field := _bracket_field(key, "filter")) is not None:
            if field not in FILTER_FIELDS:
                raise QueryError("Filter Error", f"'{field}' is not a valid filter")
            filters[field] = frozenset(_normalise_filter_value(field, v) for v in value.split(","))
        elif (field := _bracket_field(key, "range")) is not None:
            if field not in RANGE_FIELDS:
                raise QueryError("Filter Error", f"'{field}' is not a valid range")
            low, sep, high = value.partition(",")
            if not sep:
                raise QueryError("Filter Error", f"range[{field}] must be 'min,max'")
            ranges[field] = (_range_bound(field, low), _range_bound(field, high))
    return ListQuery(
        filters=tuple(sorted(filters.items())),
        ranges=tuple(sorted((f, lo, hi) for f, (lo, hi) in ranges.items())),
        sort=sort, page=page, per_page=per_page,
    )


def _normalise_filter_value(field: str, value: str) -> str:
    if field in ("id", "primary_campus_id"):
        try:
            return str(int(value))
        except ValueError:
            return value
    return value


def _filter_text(value: Any) -> str | None:
    """How a user's value compares against filter strings (booleans as true/false)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _comparable(field: str, value: Any):
    """A user's value in the type used for ranges and sorting."""
    if value is None:
        return None
    if field in TIMESTAMP_FIELDS:
        try:
            return parse_ts(value)
        except (ValueError, TypeError, AttributeError):
            return None
    if field == "image":
        return json.dumps(value, sort_keys=True)
    if field in RANGE_FIELDS and field != "id":
        return str(value)
    return value


def _predicates(query: ListQuery) -> list[Callable[[dict], bool]]:
    preds: list[Callable[[dict], bool]] = []
    for field, values in query.filters:
        if field == "primary_campus_id":
            matches = str(PRIMARY_CAMPUS_ID) in values
            preds.append(lambda u, m=matches: m)
        else:
            preds.append(lambda u, f=field, vs=values: _filter_text(u.get(f)) in vs)
    for field, low, high in query.ranges:
        preds.append(lambda u, f=field, lo=low, hi=high: _in_range(_comparable(f, u.get(f)), lo, hi))
    return preds


def _in_range(value, low, high) -> bool:
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def select_ids(users: dict[int, dict], query: ListQuery) -> list[int]:
    """Ids matching the query's filters and ranges, in the query's order.

    ``users`` iterates in ascending id order, so stable sorts leave ties id-ascending.
    """
    preds = _predicates(query)
    rows = [u for u in users.values() if all(p(u) for p in preds)] if preds else list(users.values())
    if query.sort == (("id", False),):
        return [u["id"] for u in rows]
    if query.sort == (("id", True),):
        return [u["id"] for u in reversed(rows)]
    for field, desc in reversed(query.sort):
        # (is_null, value): NULLs last ascending and first descending, like Postgres.
        def key(u, f=field):
            v = _comparable(f, u.get(f))
            return (v is None, v)
        rows.sort(key=key, reverse=desc)
    return [u["id"] for u in rows]
