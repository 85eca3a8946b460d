{#-
    The body of a big mirrored mart (incremental, delete+insert on `id`), whose cost follows the
    change rather than the table: of `current` (the rows the mart must hold, with their
    `load_id`), only
      - the rows listed since the mart was last published (`load_id` above
        `last_published_load`): a few chunks or a window, and
      - the rows whose key the mart lacks (an anti-join on `id`): rows that became current
        without being listed again (an achievements_user whose user just enrolled); only when
        the table's basis moved since its last publication (`mirror_basis`, `basis_unchanged`):
        while it stays, every current row not listed since is in the mart already;
    and of those, the ones that differ from the mart's row (EXCEPT against the mart's rows of
    those keys only, whole rows, nulls equal), stamped `ingested_at` with the run's start.
    Unchanged rows are not rewritten and keep their `ingested_at`. The rows listed since are a
    range of the raw table's load id index (`load_id_index`); the rows the mart lacks are found
    by their ids first (the anti-join reads ids only), then read whole; only the candidates are
    compared (no EXCEPT or sort over the table). `table_name` is the mart (its declared columns, its
    ledger rows).
-#}
{% macro mirrored_changes(current, table_name) -%}
{%- set data_columns = fetched_column_names(table_name) %}

with

{% if is_incremental() %}
candidates as (

    -- The rows listed since: a range of the raw table's load id index (`load_id_index`).
    select {{ data_columns }}
    from {{ current }} as current_rows
    where current_rows.load_id > {{ last_published_load(table_name) }}
    union all
    -- The rows whose key the mart lacks, when the basis moved: found by id first (the anti-join
    -- reads the ids of both tables, not the rows), then read whole.
    select {{ data_columns }}
    from {{ current }} as current_rows
    where current_rows.id in (
        select unlisted.id
        from {{ current }} as unlisted
        where
            not {{ basis_unchanged(table_name, mirror_basis(table_name)) }}
            and not unlisted.load_id > {{ last_published_load(table_name) }}
            and not exists (select from {{ this }} as mirrored where mirrored.id = unlisted.id)
    )

),

new_or_changed as (

    select * from candidates
    except
    select {{ data_columns }}
    from {{ this }} as mirrored
    where mirrored.id in (select candidates.id from candidates)

)
{% else %}
new_or_changed as (

    select {{ data_columns }} from {{ current }}

)
{% endif %}

select
    *,
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00'::timestamptz as ingested_at
from new_or_changed
{%- endmacro %}
