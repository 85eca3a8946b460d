"""The columns a table's mart declares in its dbt yml, read by the Python that fetches its rows.

A table's columns are written once, in its mart's yml (`dbt_project/models/marts/<table>.yml`):
`name`, `data_type` (PostgreSQL's spelling, as information_schema reports it), the description
(a doc block), and where needed `meta: {api: <dotted path>}` (the field's place in the API record
when it is not the column's name) or `meta: {made_by: dbt}` (made by the models, not fetched).
A `not_null` constraint marks a field the models cannot do without. The fetch declares the raw
table from this; the staging model selects from it through the `declared_columns` macro, which
names raw columns by the same rule as `raw_name` below.

A table with a listing of its own also says, under `config: meta: listing:`, where the API lists
it and how the sync keeps it current (see `Listing`): that makes it a table the sync fetches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from ..settings import DBT_PROJECT_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"
# Records per list request: the API's maximum. Here, light to import, for the planners and `status`.
PAGE_SIZE = 100


@dataclass(frozen=True)
class DeclaredColumn:
    name: str
    data_type: str
    # Where the value sits in an API record; None for a column the models make.
    api_path: tuple[str, ...] | None
    primary_key: bool
    not_null: bool

    @property
    def raw_name(self) -> str:
        """The raw table's column: dlt flattens a nested field to its `__`-joined path; a top-level
        field, renamed or not (`staff?`), keeps the model's name."""
        assert self.api_path is not None, f"{self.name} is made by the models, not fetched"
        return "__".join(self.api_path) if len(self.api_path) > 1 else self.name


@dataclass(frozen=True)
class Listing:
    """Where the API lists a table, and how the sync keeps it current."""

    table: str
    route: str  # under /v2/; `{cursus_id}` stands for CURSUS_ID
    params: dict[str, str]  # the filters a full listing sends; `{cursus_id}` stands for CURSUS_ID
    # full: every listing is complete, and the table is listed again once `max_age_hours` old.
    # incremental: a run lists what changed since the last (range[updated_at]), and everything
    # once the last full listing is FULL_SYNC_MAX_AGE_HOURS old.
    # backfill: too big for one run: listed by passes that resume across runs within the budget
    # left, and once a pass has completed, also by windows on updated_at; a new (reconcile) pass
    # starts whenever the last one completed, and finds the rows that were deleted.
    keep_current: Literal["full", "incremental", "backfill"]
    max_age_hours: float | None
    keep_as_json: tuple[str, ...] = field(default=())  # fields stored whole, as JSON text, for the models
    # Fields (dotted paths) the API sends and the table deliberately does not store, nor anything
    # below them: not reported as fields the API added.
    ignore: tuple[str, ...] = field(default=())
    # Tables whose rows its models read (coalitions_users keeps the memberships of cursus_users'
    # users): it waits until they have been listed once.
    needs: tuple[str, ...] = field(default=())

    def path(self, cursus_id: int) -> str:
        return self.route.format(cursus_id=cursus_id)

    def params_for(self, cursus_id: int) -> dict[str, str]:
        return {key: value.format(cursus_id=cursus_id) for key, value in self.params.items()}

    @property
    def item_name(self) -> str:
        """What one listed record is called in a message: `user`, `cursus_user`, `coalition`."""
        return self.table.removesuffix("s")


def mart_yml(model: str) -> Path:
    return MARTS_DIR / f"{model}.yml"


def _model_node(model: str, yml: Path | None = None) -> dict:
    yml = yml or mart_yml(model)
    return next(node for node in yaml.safe_load(yml.read_text())["models"] if node["name"] == model)


def listing_of(model: str, yml: Path | None = None) -> Listing | None:
    """The listing `model` declares, or None for a table made from another's rows."""
    declared = ((_model_node(model, yml).get("config") or {}).get("meta") or {}).get("listing")
    if declared is None:
        return None
    keep_current = declared["keep_current"]
    if keep_current not in ("full", "incremental", "backfill"):
        raise ValueError(f"{model}.yml: keep_current is {keep_current!r}, expected full, incremental or backfill")
    return Listing(
        table=model,
        route=declared["route"],
        params={str(key): str(value) for key, value in (declared.get("params") or {}).items()},
        keep_current=keep_current,
        max_age_hours=declared.get("max_age_hours"),
        keep_as_json=tuple(declared.get("keep_as_json") or ()),
        ignore=tuple(declared.get("ignore") or ()),
        needs=tuple(declared.get("needs") or ()),
    )


def marts() -> list[str]:
    """Every table the project publishes, by name."""
    return sorted(yml.stem for yml in MARTS_DIR.glob("*.yml"))


def listings() -> list[Listing]:
    """Every table the sync fetches, `users` first, then the others by name: the order a run
    plans them in, so the students come first when the budget is short."""
    found = [listing for yml in sorted(MARTS_DIR.glob("*.yml")) if (listing := listing_of(yml.stem, yml))]
    return sorted(found, key=lambda listing: (listing.table != "users", listing.table))


def declared_columns(model: str, yml: Path | None = None) -> list[DeclaredColumn]:
    """Every column `model` declares, in declared order."""
    node = _model_node(model, yml)
    columns = []
    for column in node["columns"]:
        meta = column.get("meta") or {}
        constraints = {constraint["type"] for constraint in column.get("constraints") or []}
        made_by_dbt = meta.get("made_by") == "dbt"
        columns.append(DeclaredColumn(
            name=column["name"],
            data_type=column["data_type"],
            api_path=None if made_by_dbt else tuple(meta.get("api", column["name"]).split(".")),
            primary_key="primary_key" in constraints,
            not_null="not_null" in constraints,
        ))
    return columns


def fetched_columns(model: str, yml: Path | None = None) -> list[DeclaredColumn]:
    """The columns of `model` whose values come from the API, in declared order."""
    return [column for column in declared_columns(model, yml) if column.api_path is not None]
