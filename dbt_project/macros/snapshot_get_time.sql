{#-
    The time a snapshot stamps on a version it closes (`dbt_valid_to` of a removed row): a
    timestamptz, the type of the `ingested_at` it compares and of its own columns, rather than
    dbt-postgres' `timestamp without time zone` (which made dbt warn about the mismatch on every run).
-#}
{% macro postgres__snapshot_get_time() -%}
    now()
{%- endmacro %}
