"""Shape of a 42 user record as it lands in the raw schema.

Every key is declared up front so that columns exist even when all values are null, and types
are fixed rather than guessed from the first page.
"""

from __future__ import annotations

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
        # `image` is a nested object; dlt flattens it into these columns.
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


def rename_flags(user: dict[str, Any]) -> dict[str, Any]:
    for api_key, column in FLAG_NAMES.items():
        if api_key in user:
            user[column] = user.pop(api_key)
    return user
