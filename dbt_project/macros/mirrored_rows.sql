{#-
    The body of a mirrored mart: the rows of `current` (the rows the table must hold, with their
    `load_id`) that are new or changed, stamped `ingested_at` with the run's start. EXCEPT
    compares whole rows with nulls equal: unchanged rows drop out, are not rewritten by the
    delete+insert on the mart's key, and keep their `ingested_at`.
-#}
{% macro mirrored_rows(current) -%}
{%- set data_columns = column_names(current, except=['load_id']) %}

with

current_rows as (

    select {{ data_columns }} from {{ current }}

),

new_or_changed as (

    select * from current_rows
    {% if is_incremental() %}
        except
        select {{ data_columns }} from {{ this }}
    {% endif %}

)

select
    *,
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00'::timestamptz as ingested_at
from new_or_changed
{%- endmacro %}
