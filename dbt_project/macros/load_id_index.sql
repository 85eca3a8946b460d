{#-
    A big table's raw rows indexed on their load id as the staging model reads it
    (`_dlt_load_id::numeric as load_id`): each build reads only the rows listed since the mart's
    last publication (`mirrored_changes`, `get_where_subquery`), a range of that index instead of
    a scan of every raw row. A post-hook of the staging model: built once, on the first build.
-#}
{% macro load_id_index(raw_table) -%}
    create index if not exists {{ raw_table.identifier }}_load_id_idx on {{ raw_table }} ((_dlt_load_id::numeric))
{%- endmacro %}
