{#-
    True when `basis` (SQL, `mirror_basis`) is the basis the mart `table_name` was last
    published with (the `basis` of its `sync_tables` row with the newest `published_at`); false
    when it moved, or was never recorded. While it holds, the mart already has every current row
    not listed since, and holds no row that left: the anti-joins on the key can be skipped.
    A scalar expression of constants only: PostgreSQL evaluates it once, before the scans it
    gates (a one-time filter), so a skipped anti-join reads nothing.
-#}
{% macro basis_unchanged(table_name, basis) -%}
    coalesce((
        select sync_tables.basis
        from {{ source('ft42_sync', 'sync_tables') }} as sync_tables
        where sync_tables.table_name = '{{ table_name }}' and sync_tables.published_at is not null
        order by sync_tables.published_at desc, sync_tables.run_id desc
        limit 1
    ) = {{ basis }}, false)
{%- endmacro %}
