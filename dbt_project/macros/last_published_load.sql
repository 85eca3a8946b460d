{#-
    The newest load id that reached `table_name`'s mart: the largest `load_id` of its
    `sync_tables` rows that have a `published_at` (set in the mart's own transaction). Every raw
    row with this load id or an older one was in the mart as of that build; 0 when none was
    published (then every row is a candidate).
-#}
{% macro last_published_load(table_name) -%}
    (
        select coalesce(max(sync_tables.load_id::numeric), 0)
        from {{ source('ft42_sync', 'sync_tables') }} as sync_tables
        where sync_tables.table_name = '{{ table_name }}' and sync_tables.published_at is not null
    )
{%- endmacro %}
