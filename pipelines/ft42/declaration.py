"""The columns a table's mart declares in its dbt yml, read by the Python that fetches its rows.

A table's columns are written once, in its mart's yml (`dbt_project/models/marts/<table>.yml`):
`name`, `data_type` (PostgreSQL's spelling, as information_schema reports it), the description
(a doc block), and where needed `meta: {api: <dotted path>}` (the field's place in the API record
when it is not the column's name) or `meta: {made_by: dbt}` (made by the models, not fetched).
A `not_null` constraint marks a field the models cannot do without. The fetch declares the raw
table from this; the staging model selects from it through the `declared_columns` macro, which
names raw columns by the same rule as `raw_name` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..settings import DBT_PROJECT_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"


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


def mart_yml(model: str) -> Path:
    return MARTS_DIR / f"{model}.yml"


def declared_columns(model: str, yml: Path | None = None) -> list[DeclaredColumn]:
    """Every column `model` declares, in declared order."""
    yml = yml or mart_yml(model)
    node = next(node for node in yaml.safe_load(yml.read_text())["models"] if node["name"] == model)
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
