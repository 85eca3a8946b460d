"""Shape of a 42 user record as it lands in the raw schema.

Every key is declared up front so that columns exist even when all values are null, and types
are fixed rather than guessed from the first page. Records are checked against these types
before dlt sees them: a value that cannot be coerced fails the run with the user id and the
field, instead of landing in a variant column beside an empty one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

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
        # `image` is a nested object; dlt flattens it into these columns (path joined by `__`).
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


def _timestamp(value: Any) -> str:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ValueError("an ISO 8601 timestamp") from None
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError("text")


_COERCE: dict[str, Callable[[Any], Any]] = {
    "bigint": _bigint, "bool": _bool, "timestamp": _timestamp, "text": _text,
}


# Per declared column: its path in the record, its coercer, and the Python type that needs none
# (checked first: this runs for every field of every user, so the common case must be cheap).
_FIELDS = [
    (tuple(column.split("__")), _COERCE[spec["data_type"]],
     {"bigint": int, "bool": bool, "text": str}.get(spec["data_type"]))
    for column, spec in USER_COLUMNS.items()
]


def clean_user(user: dict[str, Any]) -> dict[str, Any]:
    """Rename the `?` flags and coerce every declared field to its column type."""
    for api_key, column in FLAG_NAMES.items():
        if api_key in user:
            user[column] = user.pop(api_key)
    for (*parents, key), coerce, ready_type in _FIELDS:
        holder = user
        for parent in parents:
            holder = holder.get(parent) if isinstance(holder, dict) else None
        if not isinstance(holder, dict):
            continue
        value = holder.get(key)
        if value is None or type(value) is ready_type:
            continue
        try:
            holder[key] = coerce(value)
        except ValueError as expected:
            field, shown = ".".join([*parents, key]), repr(value)[:60]
            raise BadRecord(f"user {user.get('id')} has {field}={shown}, expected {expected}") from None
    if user.get("id") is None:
        raise BadRecord(f"a user without an id: {sorted(user)}")
    return user
