{#-
    The load id of a big table's reference listing (a table kept by passes, `keep_current:
    backfill`): the `first_load_id` of its newest complete pass in `sync_passes`. That pass
    rewrote every row it saw, and every row changed since it began was rewritten by a window
    after it, so both carry this load id or a newer one: an older raw row has gone. Before the
    table's first pass completes nothing can be known to have gone: 0, every raw row is current.
-#}
{% macro completed_pass_reference(table_name) -%}
    coalesce((
        select sync_passes.first_load_id::numeric
        from {{ source('ft42_sync', 'sync_passes') }} as sync_passes
        where sync_passes.table_name = '{{ table_name }}' and sync_passes.completed_at is not null
        order by sync_passes.completed_at desc, sync_passes.pass_id desc
        limit 1
    ), 0)
{%- endmacro %}
