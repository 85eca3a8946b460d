"""How dlt merges a run's records into a raw table (pipelines/ft42/__init__.py)."""

from __future__ import annotations

from pipelines.ft42 import connect_api, listing_resource
from pipelines.ft42.declaration import listing_of


def users_table_schema() -> dict:
    api = connect_api("http://127.0.0.1:9", "client-id", "client-secret")  # never contacted
    return listing_resource(api, listing_of("users"), 21).compute_table_schema()


def test_the_merge_skips_dlts_deduplication_pass():
    # Keyset paging returns each user once and the staging table's unique index on id refuses a
    # load that repeats one: dlt's ROW_NUMBER() pass over every staged row would drop nothing.
    schema = users_table_schema()
    assert schema["write_disposition"] == "merge"
    assert schema["x-merge-strategy"] == "delete-insert"
    assert schema["x-stage-data-deduplicated"] is True


def test_the_staging_table_keeps_its_unique_index_on_id():
    # What makes skipping the pass safe: the load fails on a repeated id instead of keeping both.
    assert users_table_schema()["columns"]["id"]["unique"] is True
