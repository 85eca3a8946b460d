"""The columns of each table are written once, in its mart's yml (dbt_project/models/marts/<table>.yml);
every other place that needs them derives them, or is checked here against it (no database, no dbt run)."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
import yaml

from pipelines.ft42.declaration import declared_columns, fetched_columns, mart_yml
from pipelines.ft42.schema import shape_of
from pipelines.settings import DBT_PROJECT_DIR
from scripts.ft42_emulator.users import UserFactory

SNAPSHOTS_DIR = DBT_PROJECT_DIR / "snapshots"
SNAPSHOT_YML = SNAPSHOTS_DIR / "users_history.yml"
# Every mart is a table's declaration.
MARTS = sorted(path.stem for path in (DBT_PROJECT_DIR / "models" / "marts").glob("*.yml"))
# Each snapshot, and the mart it records.
SNAPSHOTS = {"users_history": "users", "cursus_users_history": "cursus_users"}
DOCS = DBT_PROJECT_DIR / "models" / "staging" / "ft42" / "_ft42__docs.md"
MACRO = DBT_PROJECT_DIR / "macros" / "declared_columns.sql"
# What a dbt snapshot adds to the columns of the relation it records.
SNAPSHOT_COLUMNS = ["dbt_valid_from", "dbt_valid_to", "dbt_scd_id", "dbt_updated_at"]
DOC_REF = re.compile(r"""\{\{\s*doc\(\s*["'](\w+)["']\s*\)\s*\}\}""")


def yml_columns(path: Path, kind: str, name: str) -> list[dict]:
    return next(node for node in yaml.safe_load(path.read_text())[kind] if node["name"] == name)["columns"]


def disagreements(copy: list[tuple], declared: list[tuple], mart: str) -> list[str]:
    """Each position where a copy's (name, description) differs from the declaration's, named."""
    width = max(len(copy), len(declared))
    padded = [(copy + [None] * width)[:width], (declared + [None] * width)[:width]]
    return [f"#{i + 1}: {got} where {mart}.yml has {want}"
            for i, (got, want) in enumerate(zip(*padded)) if got != want]


def test_the_marts_are_the_tables_of_the_warehouse():
    assert MARTS == ["achievements", "achievements_users", "coalitions", "coalitions_users", "cursus_user_skills",
                     "cursus_users", "projects", "projects_users", "users"]
    assert sorted(path.stem for path in SNAPSHOTS_DIR.glob("*.yml")) == sorted(SNAPSHOTS)


@pytest.mark.parametrize("snapshot", sorted(SNAPSHOTS))
def test_a_snapshot_documents_the_columns_of_its_mart_in_order_then_the_snapshots_own(snapshot):
    # dbt cannot inherit a snapshot's column docs from its relation: this copy must stay, and agree.
    mart, path = SNAPSHOTS[snapshot], SNAPSHOTS_DIR / f"{snapshot}.yml"
    history = yml_columns(path, "snapshots", snapshot)
    declared = [(c["name"], c["description"]) for c in yml_columns(mart_yml(mart), "models", mart)]
    copied = [(c["name"], c.get("description")) for c in history[:len(history) - len(SNAPSHOT_COLUMNS)]]
    problems = disagreements(copied, declared, mart)
    assert not problems, f"{path.name} disagrees with {mart}.yml at column " + "; ".join(problems)
    own = history[len(history) - len(SNAPSHOT_COLUMNS):]
    assert [c["name"] for c in own] == SNAPSHOT_COLUMNS and all(c.get("description", "").strip() for c in own)


@pytest.mark.parametrize("mart", MARTS)
def test_every_declared_column_is_described_by_its_own_doc_block(mart):
    blocks = set(re.findall(r"\{%\s*docs\s+(\w+)\s*%\}", DOCS.read_text()))
    for column in yml_columns(mart_yml(mart), "models", mart):
        name = f"{mart}.{column['name']}"
        assert DOC_REF.fullmatch(column.get("description", "")), f"{name}: describe it in a doc block"
        block = DOC_REF.fullmatch(column["description"])[1]
        assert block == f"ft42_{mart}_{column['name']}", f"{name} is described by {block}"
        assert block in blocks, f"{name}: no {{% docs {block} %}} in {DOCS.name}"


@pytest.mark.parametrize("mart", MARTS)
def test_every_mart_declares_a_primary_key_and_ingested_at(mart):
    model = next(node for node in yaml.safe_load(mart_yml(mart).read_text())["models"] if node["name"] == mart)
    assert model["config"]["contract"] == {"enforced": True}
    keys = [c.name for c in declared_columns(mart) if c.primary_key]
    keys += [name for constraint in model.get("constraints") or [] if constraint["type"] == "primary_key"
             for name in constraint["columns"]]
    assert keys, f"{mart}: no primary key"
    ingested_at = [c for c in declared_columns(mart) if c.name == "ingested_at"]
    assert ingested_at and ingested_at[0].api_path is None and ingested_at[0].not_null
    assert ingested_at[0].data_type == "timestamp with time zone"


def test_no_yml_describes_a_column_with_another_columns_doc_block():
    owner = {DOC_REF.fullmatch(c["description"])[1]: c["name"]
             for mart in MARTS for c in yml_columns(mart_yml(mart), "models", mart)}
    misnamed = []
    for path in sorted([*DBT_PROJECT_DIR.glob("models/**/*.yml"), *DBT_PROJECT_DIR.glob("snapshots/*.yml")]):
        document = yaml.safe_load(path.read_text())
        nodes = [*document.get("models", []), *document.get("snapshots", []),
                 *(table for source in document.get("sources", []) for table in source.get("tables", []))]
        for node in nodes:
            for column in node.get("columns", []):
                block = DOC_REF.fullmatch(column.get("description", ""))
                if block and block[1] in owner and owner[block[1]] != column["name"]:
                    misnamed.append(f"{path.name}: {node['name']}.{column['name']} uses {block[1]}")
    assert not misnamed, "a column described as another: " + "; ".join(misnamed)


USERS = shape_of("users")
USER_COLUMNS, _API_PATHS, REQUIRED_COLUMNS = USERS.dlt_columns, USERS.api_paths, USERS.required
collect_unmapped_fields = USERS.collect_unmapped_fields


def test_the_raw_table_holds_every_fetched_column_and_nothing_else():
    fetched = fetched_columns("users")
    assert list(USER_COLUMNS) == [column.raw_name for column in fetched]
    assert "ingested_at" in [c.name for c in declared_columns("users")] and "ingested_at" not in USER_COLUMNS
    # Today's raw names: an existing raw table keeps loading.
    assert {"staff_p", "alumni_p", "active_p", "image__link", "image__versions__micro"} <= USER_COLUMNS.keys()
    assert _API_PATHS["staff_p"] == ("staff?",)
    assert _API_PATHS["image__versions__large"] == ("image", "versions", "large")
    assert USER_COLUMNS["id"]["primary_key"] and not USER_COLUMNS["id"]["nullable"]
    assert REQUIRED_COLUMNS == {"kind", "alumni_p"}


def test_every_declared_api_path_is_in_an_api_user_and_every_field_has_a_column():
    user = UserFactory(seed=1).make(7, 1_700_000_000_000, 1_700_000_100_000)
    unreachable = []
    for column in fetched_columns("users"):
        value = user
        for key in column.api_path:
            if not isinstance(value, dict) or key not in value:
                unreachable.append(f"{column.name}: meta api {'.'.join(column.api_path)}")
                break
            value = value[key]
    assert not unreachable, "not in an API user: " + "; ".join(unreachable)
    unmapped: set[str] = set()
    collect_unmapped_fields(user, unmapped)
    assert unmapped == set()


class _Adapter:
    @staticmethod
    def quote(name: str) -> str:
        return f'"{name}"'


def render_declared_columns(model: str) -> str:
    """The staging select list the declared_columns macro renders, from the graph dbt would give it."""
    node = {"resource_type": "model", "name": model,
            "columns": {c["name"]: {**c, "meta": c.get("meta") or {}}
                        for c in yml_columns(mart_yml(model), "models", model)}}
    # The fetched_columns macro returns a list (dbt's `do return`, which plain Jinja lacks): its
    # filter, the columns not made by dbt, stands in for it.
    fetched = [column for column in node["columns"].values() if column["meta"].get("made_by") != "dbt"]
    environment = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.Undefined)
    macros = environment.from_string(MACRO.read_text()).make_module(
        {"execute": True, "fetched_columns": {model: fetched}.__getitem__, "adapter": _Adapter()})
    return str(macros.declared_columns(model))


# An array column's raw value is JSON text (`[21, 9]`): brackets become braces, an array literal (`{21, 9}`).
ARRAY_SELECT = re.compile(r'translate\("(\w+)", ' r"'\[\]', '\{\}'\)::((\w[\w ]*)\[\]) as " r'"(\w+)"')


def selected_columns(rendered: str) -> list[tuple[str, str, str] | None]:
    """(raw column, cast type, column) of each line of a rendered select list; None for a line that is neither
    a plain cast nor an array's."""
    selected = []
    for line in rendered.splitlines():
        line = line.strip().rstrip(",")
        if plain := re.fullmatch(r'"(\w+)"::(.+) as "(\w+)"', line):
            selected.append(plain.groups())
        elif array := ARRAY_SELECT.fullmatch(line):
            selected.append((array[1], array[2], array[4]))
        else:
            selected.append(None)
    return selected


@pytest.mark.parametrize("mart", [mart for mart in MARTS if mart != "cursus_user_skills"])
def test_the_staging_model_reads_the_raw_columns_the_fetch_writes_as_the_declared_ones(mart):
    rendered = selected_columns(render_declared_columns(mart))
    assert None not in rendered
    assert rendered == [(c.raw_name, c.data_type, c.name) for c in fetched_columns(mart)]
    staging = (DBT_PROJECT_DIR / "models" / "staging" / "ft42" / f"stg_ft42__{mart}.sql").read_text()
    assert f"{{{{ declared_columns('{mart}') }}}}" in staging and f"source('ft42', '{mart}')" in staging


def test_an_array_column_is_read_from_its_json_text_not_cast_from_it():
    # `'[21, 9]'::bigint[]` is an error in PostgreSQL: the raw JSON must be turned into an array literal.
    assert [c.data_type for c in declared_columns("projects_users") if c.name == "cursus_ids"] == ["bigint[]"]
    lines = [line.strip().rstrip(",") for line in render_declared_columns("projects_users").splitlines()]
    cursus_ids = [line for line in lines if line.endswith(' as "cursus_ids"')]
    assert len(cursus_ids) == 1 and ARRAY_SELECT.fullmatch(cursus_ids[0]), cursus_ids
