{#-
    The load id of `table_name`'s reference listing: its newest complete full listing, from the
    ledger. `loaded` is this run's listing, complete and in raw before dbt runs; `succeeded`, or a
    `published_at`, is one that reached the mart (a run that failed after publishing, in the
    snapshot say, still counts, or the next run would bring back the rows it removed). A row the
    reference listing did not return and no later listing returned has gone. Null before the
    table's first full listing (then no row is current).
-#}
{% macro reference_listing(table_name) -%}
    (
        select max(sync_tables.load_id::numeric)
        from {{ source('ft42_sync', 'sync_tables') }} as sync_tables
        where
            sync_tables.table_name = '{{ table_name }}'
            and sync_tables.mode = 'full'
            and (sync_tables.status in ('loaded', 'succeeded') or sync_tables.published_at is not null)
    )
{%- endmacro %}
